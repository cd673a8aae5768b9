# reply-assist: slim, non-root, with a health check.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md constraints.txt ./
COPY reply_assist ./reply_assist
COPY prompts ./prompts
RUN pip wheel --no-cache-dir --wheel-dir /wheels -c constraints.txt .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    REPLY_ASSIST_TIKTOKEN_CACHE_DIR=/opt/reply-assist/tiktoken
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels \
    && useradd --system --uid 10001 --home-dir /nonexistent reply-assist \
    # Write tiktoken's BPE files at build time: the image never needs the network for them.
    && python -c "from pathlib import Path; from reply_assist.drafting.tokens import ensure_tiktoken_files; ensure_tiktoken_files(Path('/opt/reply-assist/tiktoken'))" \
    && chmod -R a+rX /opt/reply-assist
USER reply-assist
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"
CMD ["reply-assist", "serve", "--host", "0.0.0.0", "--port", "8000"]
