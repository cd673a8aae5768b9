// The reply desk's few behaviours that need a script: the streamed draft and the thumbs.
// Everything is checked again on the server; this only makes the page pleasant to use.
"use strict";

function messages() {
  const node = document.getElementById("desk-messages");
  return node ? JSON.parse(node.textContent) : {};
}

function say(node, text) {
  node.textContent = text;
  node.hidden = !text;
}

function problemText(problem, words) {
  return words["error." + problem.code] || problem.detail || words["draft.failed"];
}

// Server-sent events from a fetch() body: blocks of "event: x" / "data: y" lines.
async function* sseEvents(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) yield { event, data: JSON.parse(data.join("\n")) };
    }
  }
}

// While a draft streams into the Reply box, nothing may publish or save the half-written text.
function holdReplyButtons(held) {
  for (const id of ["publish", "save-edit"]) {
    const button = document.getElementById(id);
    if (button) button.disabled = held;
  }
}

async function generate(form) {
  const words = messages();
  const button = form.querySelector("button[type=submit]");
  const reply = document.getElementById("reply");
  const status = document.getElementById("generate-status");
  const error = document.getElementById("generate-error");
  const token = document.querySelector("meta[name=csrf-token]").content;
  button.disabled = true;
  holdReplyButtons(true);
  say(error, "");
  say(status, words["draft.writing"]);
  if (reply) {
    reply.value = "";
    reply.setAttribute("aria-busy", "true");
  }
  try {
    const response = await fetch(form.action, {
      method: "POST",
      headers: { "Accept": "text/event-stream", "X-CSRF-Token": token },
      body: new URLSearchParams(new FormData(form)),
      credentials: "same-origin",
    });
    if (!response.ok) {
      const problem = await response.json().catch(() => ({}));
      throw problem;
    }
    for await (const { event, data } of sseEvents(response.body)) {
      if (event === "delta") {
        if (reply) {
          reply.value += data.text;
          reply.scrollTop = reply.scrollHeight;
        }
      } else if (event === "draft") {
        say(status, words["draft.done"]);
        const url = new URL(window.location.href);
        url.search = "?draft=" + encodeURIComponent(data.id) + "&note=generated";
        url.hash = "";
        window.location.assign(url.toString());
        return;
      } else if (event === "error") {
        throw data;
      }
    }
    throw {};
  } catch (problem) {
    say(status, "");
    say(error, problemText(problem || {}, words));
    if (reply) reply.removeAttribute("aria-busy");
    holdReplyButtons(false);
    button.disabled = false;
    button.focus();
  }
}

// The reasons offered are those of the chosen direction (helpful goes with thumbs up, the rest
// with thumbs down); the server refuses a mismatched pair anyway.
function offerReasons(select, direction) {
  if (!select.allGroups) select.allGroups = Array.from(select.querySelectorAll("optgroup"));
  const chosen = select.value;
  for (const group of select.allGroups) {
    if (group.dataset.vote === direction || !direction) {
      if (!group.parentNode) select.appendChild(group);
    } else if (group.parentNode) {
      group.remove();
    }
  }
  const stillThere = Array.from(select.options).some((o) => o.value === chosen);
  select.value = stillThere ? chosen : "";
}

function setUpThumbs() {
  const form = document.getElementById("feedback-form");
  if (!form) return;
  const vote = document.getElementById("vote");
  const reason = document.getElementById("reason");
  const thumbs = form.querySelectorAll("button.thumb");
  offerReasons(reason, vote.value);
  thumbs.forEach((thumb) => {
    thumb.addEventListener("click", () => {
      vote.value = thumb.dataset.vote;
      thumbs.forEach((other) => other.setAttribute("aria-pressed", String(other === thumb)));
      offerReasons(reason, vote.value);
      say(document.getElementById("vote-missing"), "");
    });
  });
  form.addEventListener("submit", (event) => {
    if (!vote.value) {
      event.preventDefault();
      const missing = document.getElementById("vote-missing");
      missing.hidden = false;
      thumbs[0].focus();
    }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("generate-form");
  if (form) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      generate(form);
    });
  }
  setUpThumbs();
  // Back from a new draft or a publish: put the keyboard where the work continues.
  const note = new URLSearchParams(window.location.search).get("note");
  const reply = document.getElementById("reply");
  if (note === "generated" && reply) reply.focus();
  const published = ["published", "updated", "unchanged"].includes(note);
  if (published && document.getElementById("reply-heading")) {
    document.getElementById("published-reply").focus();
  }
});
