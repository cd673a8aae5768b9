"""How much of a company's next draft's prompt a llama.cpp server serves from its prefix cache.

    python bench/prefix_cache.py --base-url http://127.0.0.1:18765/v1 [--before /tmp/before]
    python bench/prefix_cache.py --gguf SmolLM2-135M-Instruct.Q4_1.gguf --llama-python PY ...

The prompts are rendered by the service's own code, exactly as a draft's would be, for the
simulated company ``reply_assist/eval/data/history-nordhavn.jsonl`` (its replies are its voice
examples, and, from this version on, its style profile) and a series of new English reviews:
two negative ones, then two positive ones. Each is sent to the server once, with
``max_tokens`` 1 (only the prompt matters), one after the other, as a company's drafts come;
the server's answer says how many prompt tokens it took from its cache
(``usage.prompt_tokens_details.cached_tokens``, else ``timings.cache_n``).

``--before DIR`` renders the same drafts with another checkout's code too (``git archive
<commit> | tar -x -C DIR``), so the table shows before and after side by side; each checkout
renders with its own defaults (prompt version, how examples are chosen). Between the two, an
unrelated prompt is sent so that neither starts with the other's cache.

``--gguf`` starts ``xllamacpp`` (a prebuilt llama.cpp server wheel; not a dependency of the
service: install it into another environment and name that environment's python with
``--llama-python``) on a free port with one slot, and stops it at the end.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]

# The drafts a company gets, in order: (label, stars, author, text).
REVIEWS = [
    ("1st, negative", 2, "Hanna Berg", "The boots leaked after one walk in the rain, very poor."),
    (
        "2nd, negative",
        1,
        "Oskar Lind",
        "My order arrived three weeks late and support never replied.",
    ),
    ("3rd, positive", 5, "Ella Nord", "Lovely jacket, warm and light, and it came in two days."),
    ("4th, positive", 4, "Liam Holm", "Good backpack, the straps could be softer but I like it."),
]

# Runs inside a checkout (its own reply_assist on sys.path): the messages of each draft, as that
# checkout's service would send them.
_RENDER = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    root = Path(sys.argv[1])
    sys.path.insert(0, str(root))
    from reply_assist.drafting.base import CompanyFacts, ReviewFacts
    from reply_assist.drafting.prompting import PromptLibrary
    from reply_assist.drafting.tokens import TokenCounter
    from reply_assist.eval.cases import EVAL_COMPANY as company
    from reply_assist.services import voice
    from reply_assist.settings import Settings

    settings = Settings()
    counter = TokenCounter.for_model(settings.model, settings.tiktoken_cache_dir)
    prompts = PromptLibrary.load(root / "prompts", settings.prompt_version)
    rows = [json.loads(line) for line in
            (root / "reply_assist/eval/data/history-nordhavn.jsonl").read_text().splitlines()]
    examples = [
        voice.VoiceExample(f"h{i}", r["language"], r["stars"],
                           voice.review_for_matching(r["review"], [r["language"]]),
                           voice.clean_reply(r["reply"], r.get("author_name"), company), float(i))
        for i, r in enumerate(rows)
    ]
    try:  # this version: a style profile, and the newest examples (the same for every review)
        from reply_assist.services.style import effective_style
        from reply_assist.services.style_learning import learn_styles
        styles = learn_styles(examples, company)
        newest = True
    except ImportError:  # before: no style, the examples most similar to the review
        styles, newest = {}, False
    facts = CompanyFacts(name=company.name, brand_voice=company.brand_voice,
                         signature=company.signature)
    try:  # with markets: the band a review is answered in is chosen by (markets.star_band)
        from reply_assist.markets import star_band
    except ImportError:  # before: choose_examples took the stars
        star_band = None
    out = []
    for label, stars, author, text in json.loads(sys.argv[2]):
        by = {"band": star_band(stars)} if star_band else {"stars": stars}
        chosen = voice.choose_examples(examples, language="en", **by,
                                       review_text=None if newest else text, counter=counter)
        review = ReviewFacts(stars=stars, text=text, language="en", author_name=author)
        extra = {}
        if "en" in styles:
            extra["style"] = effective_style(styles["en"][0], None, company, "en")
        messages = prompts.render(facts, review, None, counter, settings.max_prompt_tokens,
                                  chosen, **extra)
        out.append({"label": label, "version": prompts.version,
                    "messages": [{"role": "system", "content": messages.system},
                                 {"role": "user", "content": messages.user}]})
    print(json.dumps(out))
    """
)


def render(checkout: Path) -> list[dict[str, Any]]:
    result = subprocess.run(
        [sys.executable, "-c", _RENDER, str(checkout), json.dumps(REVIEWS)],
        capture_output=True,
        text=True,
        check=True,
        cwd=checkout,
    )
    rendered: list[dict[str, Any]] = json.loads(result.stdout)
    return rendered


def cached_tokens(body: dict[str, Any]) -> tuple[int, int]:
    """(prompt tokens, of which served from the cache) from a llama.cpp server's answer."""
    usage = body.get("usage") or {}
    prompt = int(usage.get("prompt_tokens") or 0)
    details = usage.get("prompt_tokens_details") or {}
    cached = details.get("cached_tokens")
    if cached is None:
        timings = body.get("timings") or {}
        cached = timings.get("cache_n", 0)
        prompt = prompt or int(timings.get("prompt_n", 0)) + int(cached)
    return prompt, int(cached)


def send(client: httpx.Client, model: str, messages: list[dict[str, str]]) -> tuple[int, int]:
    r = client.post(
        "/chat/completions",
        json={"model": model, "messages": messages, "max_tokens": 1, "temperature": 0},
    )
    r.raise_for_status()
    return cached_tokens(r.json())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_llama(python: str, gguf: Path, threads: int) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    code = textwrap.dedent(
        f"""
        import time, xllamacpp as x
        p = x.CommonParams(); p.model.path = {str(gguf)!r}
        p.n_ctx = 4096; p.n_parallel = 1; p.cpuparams.n_threads = {threads}
        p.port = {port}; p.use_jinja = True
        s = x.Server(p); print("ready", flush=True); time.sleep(10**6)
        """
    )
    proc = subprocess.Popen([python, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/v1"
    for _ in range(600):
        try:
            if httpx.get(f"{base}/models", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise SystemExit("the llama.cpp server did not start")
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("the llama.cpp server did not answer within 120 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", help="an OpenAI-compatible llama.cpp server's /v1 URL")
    parser.add_argument("--model", default="smollm2-135m", help="the model name to send")
    parser.add_argument("--gguf", type=Path, help="start xllamacpp serving this GGUF instead")
    parser.add_argument("--llama-python", default=sys.executable, help="python with xllamacpp")
    parser.add_argument("--threads", type=int, default=2, help="llama.cpp threads (--gguf)")
    parser.add_argument("--before", type=Path, help="a checkout of the code before, to compare")
    args = parser.parse_args()
    if not args.base_url and not args.gguf:
        parser.error("give --base-url or --gguf")

    runs = [("before", args.before)] if args.before else []
    runs.append(("after", ROOT))
    rendered = {name: render(path) for name, path in runs}
    proc = None
    base_url = args.base_url
    if args.gguf:
        proc, base_url = start_llama(args.llama_python, args.gguf, args.threads)
    try:
        with httpx.Client(base_url=base_url, timeout=300) as client:
            print(f"server {base_url}, model {args.model}, one slot, max_tokens 1")
            print(f"{'run':7} {'prompt':10} {'draft':15} {'tokens':>7} {'cached':>7} {'share':>6}")
            for name, drafts in rendered.items():
                # Start from a cache that holds nothing of this company's prompts.
                send(client, args.model, [{"role": "user", "content": "Unrelated warm-up."}])
                for draft in drafts:
                    prompt, cached = send(client, args.model, draft["messages"])
                    share = cached / prompt if prompt else 0.0
                    print(
                        f"{name:7} {draft['version']:10} {draft['label']:15} "
                        f"{prompt:7d} {cached:7d} {share:6.0%}"
                    )
    finally:
        if proc is not None:
            proc.kill()
            proc.wait()


if __name__ == "__main__":
    main()
