// tells expression trainer: the single-page app. Talks only to the local server it came from.
// The flash is frame-accurate: both images are decoded (ImageBitmap) before a trial, drawn on
// one canvas inside requestAnimationFrame callbacks (neutral -> expression -> neutral, the
// canvas is never cleared), and the on-screen time is measured from the rAF timestamps of the
// frame that showed the expression and the frame that replaced it. A video-clip item plays the
// same way at true speed: every clip frame is decoded first and drawn at the first display
// frame at or after its own presentation time (from the video's timestamps).
"use strict";

const app = document.getElementById("app");
let EMOTIONS = [];
let framePeriod = null; // ms, median rAF interval measured at start-up
let keyHandler = null;

document.addEventListener("keydown", (e) => { if (keyHandler) keyHandler(e); });

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "onclick") el.addEventListener("click", v);
    else if (k === "class") el.className = v;
    else if (v !== null && v !== undefined && v !== false) el.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

async function api(path, body) {
  const opts = body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  };
  const r = await fetch(path, opts);
  const data = await r.json();
  if (!r.ok) throw new Error(data.error || r.statusText);
  return data;
}

function render(...children) {
  app.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
}

function pct(x) { return x === null || x === undefined ? "–" : Math.round(x * 100) + "%"; }
function ms(x) { return x === null || x === undefined ? "–" : Math.round(x) + " ms"; }
function cap(s) { return s.charAt(0).toUpperCase() + s.slice(1); }

function measureFramePeriod(n = 40) {
  return new Promise((resolve) => {
    const ts = [];
    function tick(t) {
      ts.push(t);
      if (ts.length <= n) requestAnimationFrame(tick);
      else {
        const d = ts.slice(1).map((t, i) => t - ts[i]).sort((a, b) => a - b);
        resolve(d[Math.floor(d.length / 2)]);
      }
    }
    requestAnimationFrame(tick);
  });
}

async function loadBitmap(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error("cannot load " + url);
  return await createImageBitmap(await r.blob()); // fully decoded before the trial starts
}

// Show neutral for beforeMs, the expression for setMs, then neutral again, on rAF boundaries.
// Resolves with the measured on-screen time of the expression.
function flash(canvas, neutral, expression, setMs, beforeMs) {
  const ctx = canvas.getContext("2d", { alpha: false });
  const half = (framePeriod || 16.67) / 2;
  return new Promise((resolve) => {
    let phase = "before", t0 = null, tOn = null, frames = 0;
    function tick(ts) {
      if (phase === "before") {
        if (t0 === null) {
          ctx.drawImage(neutral, 0, 0, canvas.width, canvas.height); t0 = ts;
          canvas.dataset.showing = "neutral";
        }
        else if (ts - t0 >= beforeMs - half) {
          ctx.drawImage(expression, 0, 0, canvas.width, canvas.height);
          tOn = ts; phase = "on"; frames = 1;
          canvas.dataset.showing = "expression";
        }
      } else {
        if (ts - tOn >= setMs - half) {
          ctx.drawImage(neutral, 0, 0, canvas.width, canvas.height);
          canvas.dataset.showing = "neutral-after";
          resolve({ measured_ms: ts - tOn, measured_frames: frames, t_off: ts });
          return;
        }
        frames += 1;
      }
      requestAnimationFrame(tick);
    }
    requestAnimationFrame(tick);
  });
}

// Play a clip: frames[0] (the neutral face) for beforeMs, then frames[1..] each at its time
// tMs[k] - tMs[1] after frames[1] appeared, the last one for one frame interval, then
// frames[0] again. Resolves with the measured on-screen time of frames[1..] and, per frame,
// when it appeared against when it should have (ms after frames[1]).
function flashClip(canvas, frames, tMs, beforeMs) {
  const ctx = canvas.getContext("2d", { alpha: false });
  const half = (framePeriod || 16.67) / 2;
  const n = frames.length;
  const due = tMs.map((t) => t - tMs[1]);
  const end = due[n - 1] + (tMs[n - 1] - tMs[n - 2]);
  return new Promise((resolve) => {
    let t0 = null, tOn = null, k = 0, frames_ = 0;
    const log = [];
    function tick(ts) {
      if (t0 === null) {
        ctx.drawImage(frames[0], 0, 0, canvas.width, canvas.height); t0 = ts;
        canvas.dataset.showing = "neutral";
      } else if (tOn === null) {
        if (ts - t0 >= beforeMs - half) {
          ctx.drawImage(frames[1], 0, 0, canvas.width, canvas.height);
          tOn = ts; k = 1; frames_ = 1; log.push([1, 0, 0]);
          canvas.dataset.showing = "expression";
        }
      } else {
        if (k === n - 1 && ts - tOn >= end - half) {
          ctx.drawImage(frames[0], 0, 0, canvas.width, canvas.height);
          canvas.dataset.showing = "neutral-after";
          const maxErr = Math.max(...log.map(([, at, want]) => Math.abs(at - want)), Math.abs(ts - tOn - end));
          resolve({ measured_ms: ts - tOn, measured_frames: frames_, t_off: ts, log, max_error_ms: maxErr });
          return;
        }
        frames_ += 1;
        // one clip frame per display frame at most: a frame is never skipped; one drawn late
        // (a dropped display frame) shows in the log and makes the flash count as missed
        if (k + 1 < n && ts - tOn >= due[k + 1] - half) {
          k += 1;
          ctx.drawImage(frames[k], 0, 0, canvas.width, canvas.height);
          log.push([k, ts - tOn, due[k]]);
        }
      }
      requestAnimationFrame(tick);
    }
    requestAnimationFrame(tick);
  });
}

function drawMarks(svg, marks, size) {
  svg.innerHTML = "";
  const NS = "http://www.w3.org/2000/svg";
  const mk = (tag, attrs) => { const e = document.createElementNS(NS, tag); for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v); svg.append(e); return e; };
  svg.setAttribute("viewBox", `0 0 ${size} ${size}`);
  const defs = document.createElementNS(NS, "defs");
  defs.innerHTML = '<marker id="arr" viewBox="0 0 10 10" refX="5" refY="5" markerWidth="5" markerHeight="5" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#ffd54f"/></marker>';
  svg.append(defs);
  const cx = size / 2, L = size * 0.06;
  for (const m of marks || []) {
    m.points.forEach(([fx, fy], i) => {
      const x = fx * size, y = fy * size;
      let dx = 0, dy = 0;
      if (m.direction === "up") dy = -L; else if (m.direction === "down") dy = L;
      else if (m.direction === "out") dx = x < cx ? -L : L; else if (m.direction === "in") dx = x < cx ? L : -L;
      else if (m.direction === "together") dy = i === 0 ? L : -L;
      mk("circle", { cx: x, cy: y, r: size * 0.018, fill: "none", stroke: "#ffd54f", "stroke-width": 2.5 });
      mk("line", { x1: x, y1: y, x2: x + dx, y2: y + dy, stroke: "#ffd54f", "stroke-width": 2.5, "marker-end": "url(#arr)" });
      if (i === 0) {
        const t = mk("text", { x: x + (x < cx ? -10 : 10), y: y + 5, fill: "#fff", "font-size": size * 0.034, "font-weight": 700, "text-anchor": x < cx ? "end" : "start", stroke: "#000", "stroke-width": 0.8, "paint-order": "stroke" });
        t.textContent = m.au;
      }
    });
  }
}

function legend(marks) {
  return h("ul", { class: "legend" }, (marks || []).map((m) => h("li", {}, h("b", {}, "AU" + m.au.replace(/^AU/, "") + " "), m.name)));
}

// ---------------------------------------------------------------------------------------
// Start page

async function startPage() {
  const state = await api("/api/state");
  EMOTIONS = state.emotions;
  document.getElementById("note").textContent = state.note + " Your answers stay on this computer.";
  const name = h("input", { type: "text", id: "trainee", placeholder: "Your name", autocomplete: "off" });
  if (state.trainees.length) name.value = state.trainees[state.trainees.length - 1].name;
  const msg = h("p", { class: "error", id: "start-error" });
  const accepted = state.packs.reduce((n, p) => n + p.counts.accepted, 0);
  const start = async () => {
    msg.textContent = "";
    try {
      const step = await api("/api/sessions", { trainee: name.value, frame_period_ms: framePeriod });
      runStep(step);
    } catch (err) { msg.textContent = err.message; }
  };
  keyHandler = (e) => { if (e.key === "Enter") { e.preventDefault(); start(); } };
  render(
    h("h1", {}, "Recognise micro-expressions"),
    h("div", { class: "card" },
      h("p", {}, "A face appears, shows an emotion for a fraction of a second, and returns to neutral. Name the emotion with keys 1–7 or by clicking. The session runs: a short test, a lesson per emotion, practice with feedback where the flash gets shorter as you improve, and a final test."),
      h("p", { class: "muted" }, state.note)),
    h("div", { class: "card" },
      h("label", { for: "trainee" }, "Trainee "), name, " ",
      h("button", { id: "start", onclick: start }, "Start session"),
      msg,
      h("p", { class: "hint" }, `${accepted} practice items in ${state.packs.length} pack(s)` +
        (state.pending ? `, ${state.pending} waiting for review` : "") +
        `. Display refresh measured at ${framePeriod ? (1000 / framePeriod).toFixed(0) : "?"} Hz.`)),
  );
  name.focus();
}

// ---------------------------------------------------------------------------------------
// Session steps

function runStep(step) {
  app.dataset.step = step.index;
  app.dataset.view = step.kind;
  if (step.kind === "trial") return trialPage(step);
  if (step.kind === "lesson") return lessonPage(step);
  return reportPage(step.report);
}

const PHASE_NAMES = { pretest: "Pre-test", practice: "Practice", posttest: "Post-test" };

function answerButtons(onAnswer) {
  return h("div", { class: "answers", id: "answers" },
    EMOTIONS.map((e, i) => h("button", { "data-emotion": e, disabled: true, onclick: () => onAnswer(e, "click") },
      h("kbd", {}, String(i + 1)), cap(e))));
}

async function trialPage(step) {
  keyHandler = null;
  const canvas = h("canvas", { width: 480, height: 480, id: "stage-canvas" });
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  const stage = h("div", { class: "stage", id: "stage", "data-item": step.item.key, "data-phase": step.phase, "data-set-ms": step.set_ms }, canvas, svg);
  const fb = h("div", { class: "feedback", id: "feedback" });
  let answered = false, tOff = null, timing = null;
  const onAnswer = async (emotion, input) => {
    if (answered || timing === null) return;
    answered = true;
    const rt = performance.now() - tOff;
    const res = await api(`/api/sessions/${step.session}/answer`, {
      index: step.index, answer: emotion, input, reaction_ms: rt,
      measured_ms: timing.measured_ms, measured_frames: timing.measured_frames, frame_period_ms: framePeriod,
      flash_attempts: timing.flash_attempts,
    });
    if (res.stale) return runStep(res.next);
    if (!step.feedback) return runStep(res.next);
    showFeedback(res, canvas, svg, fb);
  };
  const buttons = answerButtons(onAnswer);
  render(
    h("div", { class: "phase" },
      h("span", { id: "phase-name" }, PHASE_NAMES[step.phase] + (step.phase === "practice" ? ` · flash ${Math.round(step.set_ms)} ms` : "")),
      h("span", {}, `${step.trials_done + 1} / ${step.trials_total}`)),
    h("div", { class: "trial" }, stage, h("div", {}, buttons, fb,
      h("p", { class: "hint" }, "Keys 1–7 answer."))),
  );
  const clip = step.item.clip;
  let neutral, expression, clipFrames;
  try {
    if (clip) clipFrames = await Promise.all(clip.frames.map(loadBitmap));
    else [neutral, expression] = await Promise.all([loadBitmap(step.item.neutral), loadBitmap(step.item.expression)]);
  } catch (err) { fb.className = "feedback bad"; fb.textContent = err.message; return; }
  stage.dataset.ready = "1";
  if (clip) stage.dataset.clip = String(clip.frames.length);
  timing = null;
  // A flash that missed its duration (a clip: any frame's time) by more than a display frame
  // (a dropped frame when the computer is busy) is not a valid trial: show it again, up to
  // three times in all.
  let t, attempts = 0;
  const tol = framePeriod || 16.67;
  do {
    attempts += 1;
    const before = attempts === 1 ? step.neutral_before_ms : 700;
    t = clip ? await flashClip(canvas, clipFrames, clip.t_ms, before)
      : await flash(canvas, neutral, expression, step.set_ms, before);
  } while ((clip ? t.max_error_ms : Math.abs(t.measured_ms - step.set_ms)) > tol && attempts < 3);
  if (clip) stage.dataset.clipLog = JSON.stringify(t.log);
  t.flash_attempts = attempts;
  stage.dataset.flashAttempts = attempts;
  tOff = t.t_off; timing = t;
  stage.dataset.measuredMs = t.measured_ms.toFixed(2);
  buttons.querySelectorAll("button").forEach((b) => { b.disabled = false; });
  buttons.dataset.ready = "1";
  keyHandler = (e) => {
    const n = parseInt(e.key, 10);
    if (n >= 1 && n <= EMOTIONS.length) { e.preventDefault(); onAnswer(EMOTIONS[n - 1], "key"); }
  };
}

function showFeedback(res, canvas, svg, fb) {
  const next = () => { keyHandler = null; runStep(res.next); };
  document.querySelectorAll("#answers button").forEach((b) => {
    b.disabled = true;
    if (b.dataset.emotion === res.truth) b.classList.add("truth");
    else if (b.dataset.emotion === res.answer) b.classList.add("wrong");
  });
  if (res.correct) {
    fb.className = "feedback ok";
    fb.textContent = `Correct: ${res.truth}.`;
  } else {
    fb.className = "feedback bad";
    fb.replaceChildren(`It was ${res.truth}, not ${res.answer}.`,
      h("div", { class: "hint" }, `What moves (${res.item.aus}):`), legend(res.item.marks));
    // hold the expression still with its action units marked
    loadBitmap(res.item.expression).then((bmp) => {
      canvas.getContext("2d").drawImage(bmp, 0, 0, canvas.width, canvas.height);
      drawMarks(svg, res.item.marks, canvas.width);
    });
  }
  fb.append(h("div", {}, h("button", { id: "continue", onclick: next }, "Continue (Enter)")));
  fb.dataset.shown = res.correct ? "correct" : "wrong";
  keyHandler = (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); next(); } };
}

function lessonPage(step) {
  const it = step.item;
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  const exprImg = h("img", { src: it.expression, width: 400, height: 400, alt: step.emotion });
  const next = async () => { keyHandler = null; runStep(await api(`/api/sessions/${step.session}/lesson`, { index: step.index })); };
  render(
    h("div", { class: "phase" }, h("span", { id: "phase-name" }, "Lesson"), h("span", {}, cap(step.emotion))),
    h("h1", { id: "lesson-title" }, cap(step.emotion)),
    h("div", { class: "trial" },
      h("div", { class: "pair" },
        h("figure", {}, h("img", { src: it.neutral, width: 400, height: 400, alt: "neutral" }), h("figcaption", {}, "neutral")),
        h("figure", {}, h("div", { class: "stage", style: "width:400px;height:400px" }, exprImg, svg), h("figcaption", {}, `${step.emotion} · ${it.aus}`))),
    ),
    h("div", { class: "card" }, h("p", {}, step.text), legend(it.marks),
      it.aus_source === "prototype" ? h("p", { class: "hint" }, "Marks show the textbook (EMFACS) action units of this emotion; a real face may show only some of them.") : null,
      h("button", { id: "continue", onclick: next }, "Continue (Enter)")),
  );
  drawMarks(svg, it.marks, 400);
  keyHandler = (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); next(); } };
}

function reportPage(r) {
  keyHandler = null;
  const rows = r.per_emotion.map((p) => {
    const pre = p.pretest.accuracy, post = p.posttest.accuracy;
    const delta = pre === null || post === null ? "–" : (post - pre >= 0 ? "+" : "") + Math.round((post - pre) * 100) + " pts";
    return h("tr", { "data-emotion": p.emotion }, h("td", {}, cap(p.emotion)),
      h("td", { class: "pre" }, `${pct(pre)} (${p.pretest.correct}/${p.pretest.n})`),
      h("td", { class: "post" }, `${pct(post)} (${p.posttest.correct}/${p.posttest.n})`),
      h("td", {}, delta), h("td", {}, `${pct(p.practice.accuracy)} (${p.practice.correct}/${p.practice.n})`),
      h("td", {}, ms(p.median_rt_ms)));
  });
  const conf = (phase) => {
    const m = r.confusions[phase];
    const shown = Object.keys(m);
    return h("table", { class: "confusion", id: "confusion-" + phase },
      h("tr", {}, h("th", {}, "shown ↓ / answered →"), EMOTIONS.map((e) => h("th", {}, e.slice(0, 4)))),
      shown.map((s) => h("tr", {}, h("th", {}, s), EMOTIONS.map((a) => {
        const n = m[s][a];
        return h("td", { class: s === a ? "diag" : n ? "hot" : "" }, n || "");
      }))));
  };
  render(
    h("h1", { id: "report-title" }, `Score report · ${r.trainee}`),
    h("div", { class: "card stats" },
      h("div", {}, h("span", {}, "Pre-test"), h("b", { class: "big", id: "pre-acc" }, pct(r.pretest_accuracy))),
      h("div", {}, h("span", {}, "Post-test"), h("b", { class: "big", id: "post-acc" }, pct(r.posttest_accuracy))),
      h("div", {}, h("span", {}, "Practice"), h("b", { class: "big", id: "practice-acc" }, pct(r.practice_accuracy))),
      h("div", {}, h("span", {}, "Shortest flash mastered"), h("b", { class: "big", id: "mastered" }, ms(r.mastered_ms))),
      h("div", {}, h("span", {}, "Median reaction time (post-test)"), h("b", { class: "big" }, ms(r.median_rt_ms.posttest)))),
    h("h2", {}, "Accuracy per emotion"),
    h("table", { id: "per-emotion" }, h("tr", {}, ["Emotion", "Before", "After", "Change", "Practice", "Median RT (correct)"].map((c) => h("th", {}, c))), rows),
    r.top_confusions.length ? h("div", {}, h("h2", {}, "Most frequent confusions"),
      h("ul", { id: "top-confusions" }, r.top_confusions.map((c) => h("li", {}, `${c.shown} taken for ${c.answered}: ${c.count}×`)))) : null,
    h("h2", {}, "Confusions in the post-test"), conf("posttest"),
    h("h2", {}, "Confusions in the pre-test"), conf("pretest"),
    h("p", { class: "hint" }, `Test flashes: ${ms(r.test_ms)}. Practice flashes: ${r.practice_durations_ms.map((x) => Math.round(x)).join(", ") || "–"} ms. ` +
      `Largest difference between asked and measured flash time: ${ms(r.flash_timing_max_error_ms)}` +
      (r.flashes_repeated ? ` (${r.flashes_repeated} flash(es) repeated after a dropped display frame).` : ".")),
    r.notes.length ? h("ul", { class: "hint" }, r.notes.map((n) => h("li", {}, n))) : null,
    h("p", { class: "muted" }, r.disclaimer),
    h("p", {}, h("a", { href: "/progress" }, "See progress"), " · ", h("a", { href: "/" }, "New session")),
  );
}

// ---------------------------------------------------------------------------------------
// Progress and review pages

async function progressPage() {
  const data = await api("/api/progress");
  const state = await api("/api/state");
  document.getElementById("note").textContent = state.note;
  render(h("h1", {}, "Progress"),
    data.length ? null : h("p", { class: "muted" }, "No trainees yet."),
    data.map((t) => h("div", { class: "card trainee", "data-trainee": t.name }, h("h2", {}, t.name),
      sparkline(t.sessions),
      h("table", {}, h("tr", {}, ["Session", "Date", "Answers", "Pre-test", "Practice", "Post-test", "Shortest mastered", ""].map((c) => h("th", {}, c))),
        t.sessions.map((s) => h("tr", { "data-session": s.session }, h("td", {}, "#" + s.session), h("td", {}, (s.started_at || "").replace("T", " ").slice(0, 16)),
          h("td", {}, s.answers), h("td", {}, pct(s.pretest_accuracy)), h("td", {}, pct(s.practice_accuracy)),
          h("td", {}, pct(s.posttest_accuracy)), h("td", {}, ms(s.mastered_ms)), h("td", {}, s.complete ? "" : "unfinished")))))));
}

function sparkline(sessions) {
  const pts = sessions.filter((s) => s.posttest_accuracy !== null);
  if (pts.length < 2) return null;
  const W = 240, H = 50;
  const d = pts.map((s, i) => `${i ? "L" : "M"}${(i / (pts.length - 1)) * (W - 10) + 5},${H - 5 - s.posttest_accuracy * (H - 10)}`).join(" ");
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("width", W); svg.setAttribute("height", H);
  svg.innerHTML = `<path d="${d}" fill="none" stroke="#2a6f97" stroke-width="2"/>`;
  return h("div", { class: "hint" }, "Post-test accuracy over sessions ", svg);
}

async function reviewPage() {
  const items = await api("/api/review");
  const decide = async (key, status, row) => { await api("/api/review", { item: key, status }); row.remove(); };
  render(h("h1", {}, "Review items"),
    h("p", { class: "muted" }, "Items made from analyses, generated items the appearance check did not pass, and studio takes that fell short: check that the right-hand frame really shows the emotion before it is used for practice."),
    items.length ? null : h("p", { id: "no-pending" }, "Nothing waiting for review."),
    items.map((it) => {
      const row = h("div", { class: "card review-item", "data-item": it.key });
      row.append(h("img", { src: it.neutral, alt: "neutral" }), h("img", { src: it.expression, alt: it.emotion }),
        h("div", {}, h("b", {}, cap(it.emotion)), h("div", {}, "AUs " + it.aus),
          h("div", { class: "hint" }, it.origin.video ? `${it.origin.video} · frames ${it.origin.onset_frame}→${it.origin.apex_frame}` : ""),
          h("div", { class: "hint review-why" }, (it.origin.judge && it.origin.judge.reason) || it.origin.review || ""),
          it.origin.consent ? h("div", { class: "hint" }, `consent: ${it.origin.consent}`) : null,
          h("button", { class: "accept", onclick: () => decide(it.key, "accepted", row) }, "Accept"), " ",
          h("button", { class: "secondary reject", onclick: () => decide(it.key, "rejected", row) }, "Reject")));
      return row;
    }));
}

(async function main() {
  try {
    framePeriod = await measureFramePeriod();
    document.body.dataset.framePeriod = framePeriod.toFixed(3);
    const path = location.pathname;
    if (path === "/progress") await progressPage();
    else if (path === "/review") await reviewPage();
    else await startPage();
  } catch (err) {
    render(h("p", { class: "error" }, err.message));
  }
})();
