/* tells report: draws the page from the JSON in #tells-data. Hand-written canvas/DOM code,
   no libraries, no network. When drawn it sets document.body.dataset.ready = "1" and
   window.tellsReadyMs, after the first paint dataset.painted = "1" and window.tellsPaintedMs
   (ms since navigation start). */
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("tells-data").textContent);
  var M = D.meta, EMO = D.emotions, COL = D.colors, BINS = D.bins;
  var PAGE = 120; // cards rendered per "show more"
  var state = { emotions: {}, kind: "all", minConf: 0, leakOnly: false, face: "all",
                sort: "time", limit: PAGE };
  EMO.forEach(function (e) { state.emotions[e] = true; });
  var byId = {};
  D.events.forEach(function (e) { byId[e.id] = e; });
  var app = document.getElementById("app");
  var tip = el("div", { id: "tip" });
  document.body.appendChild(tip);
  var video = null;
  var redraws = [];

  function el(tag, attrs, kids) {
    var n = document.createElement(tag);
    if (attrs) for (var k in attrs) {
      if (k === "text") n.textContent = attrs[k];
      else if (k === "html") n.innerHTML = attrs[k];
      else if (k === "style") n.style.cssText = attrs[k];
      else n.setAttribute(k, attrs[k]);
    }
    (kids || []).forEach(function (c) { if (c) n.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return n;
  }
  function fmtT(t) {
    if (t == null || isNaN(t)) return "–";
    var neg = t < 0; t = Math.abs(t);
    var h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60), s = t % 60;
    var ss = (s < 10 ? "0" : "") + s.toFixed(1);
    return (neg ? "-" : "") + (h || M.duration >= 3600 ? h + ":" + (m < 10 ? "0" : "") + m : m) + ":" + ss;
  }
  function pct(v) { return (100 * v).toFixed(0) + "%"; }
  function b64(s) {
    var bin = atob(s), a = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) a[i] = bin.charCodeAt(i);
    return a;
  }
  function chip(emotion) {
    return el("span", { class: "chip", style: "background:" + (COL[emotion] || "#777"), text: emotion || "unknown" });
  }
  function section(id, title) {
    var s = el("section", { id: id });
    if (title) s.appendChild(el("h2", { text: title }));
    app.appendChild(s);
    return s;
  }
  function na(text) { return el("p", { class: "na", text: text }); }
  function setupCanvas(c, cssH) {
    var dpr = window.devicePixelRatio || 1, w = Math.max(50, c.parentNode.clientWidth || 600);
    c.style.height = cssH + "px";
    c.width = Math.round(w * dpr); c.height = Math.round(cssH * dpr);
    var ctx = c.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    return { ctx: ctx, w: w, h: cssH };
  }
  function xOf(t, w) { return t / M.duration * w; }
  function tOf(evt, c) {
    var r = c.getBoundingClientRect();
    return Math.max(0, Math.min(M.duration, (evt.clientX - r.left) / r.width * M.duration));
  }
  function showTip(evt, html) {
    tip.innerHTML = html; tip.style.display = "block";
    tip.style.left = Math.min(window.innerWidth - 290, evt.clientX + 12) + "px";
    tip.style.top = (evt.clientY + 14) + "px";
  }
  function hideTip() { tip.style.display = "none"; }
  function esc(s) { return String(s).replace(/[&<>"]/g, function (c) { return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]; }); }
  function seek(t) {
    if (!video) return;
    var p = document.getElementById("player"); p.classList.remove("min");
    try { video.currentTime = Math.max(0, t); } catch (e) { /* not seekable yet */ }
    var pr = video.play(); if (pr && pr.catch) pr.catch(function () {});
  }

  /* ---------- header ---------- */
  function header() {
    var dl = document.getElementById("meta");
    function item(k, v) { if (v == null || v === "") return; dl.appendChild(el("div", null, [el("dt", { text: k }), el("dd", null, [v])])); }
    item("Video", M.video_name || "unknown");
    item("Duration", fmtT(M.duration));
    item("Faces", String(D.faces.length));
    item("Moments", D.available.events ? String(D.counts.total) : "not available");
    item("Leakage", D.available.events ? String(D.counts.leakage) : null);
    item("tells", M.tells_version + (M.analysed_by && M.analysed_by !== M.tells_version ? " (analysed with " + M.analysed_by + ")" : ""));
    item("Generated", M.generated);
    if (M.sources && M.sources.transcript) item("Transcript", M.sources.transcript);
    if (M.sources && M.sources.segments) item("Segments", M.sources.segments);
    var keys = Object.keys(M.settings || {});
    if (keys.length) {
      var det = el("details", null, [el("summary", { text: keys.length + " values" }), el("pre", { text: JSON.stringify(M.settings, null, 1) })]);
      item("Settings", det);
    }
  }

  /* ---------- overview strip: segments + all events ---------- */
  function overview() {
    var s = section("overview", "Call timeline");
    var wrap = el("div", { class: "plot" });
    var c = el("canvas", { id: "overview-canvas", "aria-label": "call timeline with moments" });
    wrap.appendChild(c); s.appendChild(wrap);
    var lg = el("div", { class: "legend" });
    EMO.forEach(function (e) { if (e !== "neutral") lg.appendChild(el("span", null, [el("i", { style: "background:" + COL[e] }), e])); });
    lg.appendChild(el("span", { text: "▲ tall marks = micro-expressions, short = macro; red outline = leakage" }));
    s.appendChild(lg);
    function draw() {
      var g = setupCanvas(c, 74), ctx = g.ctx, w = g.w;
      ctx.clearRect(0, 0, w, g.h);
      D.segments.forEach(function (sg, i) {
        ctx.fillStyle = i % 2 ? "#eef3fb" : "#e3ecf8";
        var x0 = xOf(sg.start, w), x1 = xOf(sg.end, w);
        ctx.fillRect(x0, 0, Math.max(1, x1 - x0), 54);
        ctx.fillStyle = "#2456a6"; ctx.font = "11px sans-serif";
        ctx.save(); ctx.beginPath(); ctx.rect(x0, 0, x1 - x0, 54); ctx.clip();
        ctx.fillText(sg.label, x0 + 3, 12); ctx.restore();
      });
      ctx.fillStyle = "#f0f1f3"; ctx.fillRect(0, 52, w, 2);
      visibleEvents().forEach(function (e) {
        var x = xOf(e.apex_t, w), hgt = e.kind === "micro" ? 34 : 20;
        ctx.fillStyle = COL[e.emotion] || "#777";
        ctx.fillRect(x - 1.5, 52 - hgt, 3, hgt);
        if (e.leakage) { ctx.strokeStyle = "#c0262d"; ctx.lineWidth = 1; ctx.strokeRect(x - 2.5, 52 - hgt - 1, 5, hgt + 1); }
      });
      axis(ctx, w, 58);
    }
    c.addEventListener("mousemove", function (evt) {
      var t = tOf(evt, c), best = null, bd = 1e9, px = M.duration / c.getBoundingClientRect().width * 4;
      visibleEvents().forEach(function (e) { var d = Math.abs(e.apex_t - t); if (d < bd) { bd = d; best = e; } });
      if (best && bd <= px) showTip(evt, "<b>" + esc(best.emotion) + "</b> " + esc(best.kind) + " at " + fmtT(best.apex_t) + (best.confidence != null ? "<br>confidence " + best.confidence.toFixed(2) : "") + (best.segment ? "<br>during " + esc(best.segment) : ""));
      else showTip(evt, fmtT(t));
    });
    c.addEventListener("mouseleave", hideTip);
    c.addEventListener("click", function (evt) {
      var t = tOf(evt, c), best = null, bd = 1e9, px = M.duration / c.getBoundingClientRect().width * 4;
      visibleEvents().forEach(function (e) { var d = Math.abs(e.apex_t - t); if (d < bd) { bd = d; best = e; } });
      if (best && bd <= px) focusCard(best.id); else seek(t);
    });
    redraws.push(draw);
  }
  function axis(ctx, w, y) {
    ctx.fillStyle = "#5b6675"; ctx.font = "11px sans-serif";
    var steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];
    var step = steps.find(function (s) { return M.duration / s <= Math.max(2, w / 90); }) || 7200;
    for (var t = 0; t <= M.duration + 1e-9; t += step) {
      var x = xOf(t, w);
      ctx.fillRect(x, y, 1, 4);
      var lab = fmtT(t).replace(/\.0$/, "");
      ctx.fillText(lab, Math.min(x + 2, w - ctx.measureText(lab).width - 1), y + 14);
    }
  }

  /* ---------- per face ---------- */
  function faces() {
    var s = section("faces", D.faces.length > 1 ? "Faces" : "Face");
    D.faces.forEach(function (f) { s.appendChild(faceBlock(f)); });
  }
  function faceBlock(f) {
    var left = el("div", null, [
      f.thumb ? el("img", { class: "thumb", src: f.thumb, alt: "face " + f.id }) : el("div", { class: "thumb", title: "no thumbnail (video not reachable)" }),
      el("div", { class: "stats", html: "visible " + fmtT(f.visible_s) + "<br>" + fmtT(f.first_t) + " – " + fmtT(f.last_t) +
        (f.events ? "<br>" + f.events.total + " moments, " + f.events.leakage + " leakage" : "") })
    ]);
    var right = el("div");
    right.appendChild(el("h3", { text: "Face " + f.id + (f.dominant_emotion ? " · mostly " + f.dominant_emotion + " (apart from neutral)" : "") }));
    // valence balance
    if (f.valence) {
      var v = f.valence, bar = el("div", { class: "valence", title: "share of frames' emotion probability" });
      [["positive", v.positive, "#3a9d4a"], ["other", v.other, "#9aa3ad"], ["negative", v.negative, "#c0262d"]].forEach(function (p) {
        if (p[1] > 0) bar.appendChild(el("span", { style: "width:" + (100 * p[1]) + "%;background:" + p[2], text: p[1] > 0.08 ? p[0] + " " + pct(p[1]) : "" }));
      });
      right.appendChild(el("div", { class: "plot" }, [el("div", { class: "label", text: "Valence balance (positive − negative = " + (v.balance >= 0 ? "+" : "") + v.balance.toFixed(2) + ")" }), bar]));
    } else right.appendChild(na("Valence balance not available (no emotion columns in this analysis)."));
    // emotion timeline
    if (f.emo) {
      var emo = b64(f.emo), present = b64(f.present);
      var c = el("canvas", { class: "emotion-timeline", "data-face": f.id, "aria-label": "emotion timeline of face " + f.id });
      var lg = el("div", { class: "legend" });
      EMO.forEach(function (e) { lg.appendChild(el("span", null, [el("i", { style: "background:" + COL[e] }), e])); });
      right.appendChild(el("div", { class: "plot" }, [el("div", { class: "label", text: "Emotion probabilities over time (display averaged per column; click to play)" }), c, lg]));
      var draw = function () {
        var g = setupCanvas(c, 110), ctx = g.ctx, w = g.w, H = 96, bw = w / BINS;
        ctx.clearRect(0, 0, w, g.h);
        ctx.fillStyle = "#f4f5f7"; ctx.fillRect(0, 0, w, H);
        var base = new Float32Array(BINS);
        EMO.forEach(function (e, k) {
          ctx.beginPath(); ctx.fillStyle = COL[e];
          for (var i = 0; i < BINS; i++) {
            var q = emo[k * BINS + i]; if (q === 255) continue;
            var hgt = q / 254 * H; ctx.rect(i * bw, H - base[i] - hgt, bw + 0.6, hgt); base[i] += hgt;
          }
          ctx.fill();
        });
        visibleEvents().forEach(function (e) {
          if (String(e.face_id) !== String(f.id)) return;
          var x = xOf(e.apex_t, w); ctx.fillStyle = "#111";
          ctx.beginPath(); ctx.moveTo(x - 4, 0); ctx.lineTo(x + 4, 0); ctx.lineTo(x, 7); ctx.fill();
        });
        axis(ctx, w, H);
      };
      c.addEventListener("mousemove", function (evt) {
        var t = tOf(evt, c), i = Math.min(BINS - 1, Math.floor(t / M.duration * BINS));
        if (present[i] === 255) { showTip(evt, fmtT(t) + "<br>face not visible"); return; }
        var rows = EMO.map(function (e, k) { return [e, emo[k * BINS + i] / 254]; }).sort(function (a, b) { return b[1] - a[1]; }).slice(0, 3);
        showTip(evt, fmtT(t) + "<br>" + rows.map(function (r) { return esc(r[0]) + " " + pct(r[1]); }).join("<br>"));
      });
      c.addEventListener("mouseleave", hideTip);
      c.addEventListener("click", function (evt) { seek(tOf(evt, c)); });
      redraws.push(draw);
    } else right.appendChild(na("Emotion timeline not available (this analysis has no emotion columns)."));
    // AU heatmap
    if (f.au && D.au_names.length) {
      var au = b64(f.au), n = D.au_names.length;
      var hc = el("canvas", { class: "au-heatmap", "aria-label": "action unit heatmap of face " + f.id });
      var labels = el("div", { class: "aus", style: "height:" + (n * 12) + "px" });
      D.au_names.forEach(function (a) { labels.appendChild(el("span", { text: a.replace("_r", "") })); });
      right.appendChild(el("div", { class: "plot" }, [el("div", { class: "label", text: "Action-unit intensity over time (0–5; display shows each column's peak)" }),
        el("div", { class: "heat" }, [labels, el("div", null, [hc])])]));
      var off = document.createElement("canvas"); off.width = BINS; off.height = n;
      var octx = off.getContext("2d"), img = octx.createImageData(BINS, n);
      for (var r = 0; r < n; r++) for (var i = 0; i < BINS; i++) {
        var q = au[r * BINS + i], o = 4 * (r * BINS + i);
        if (q === 255) { img.data[o] = 238; img.data[o + 1] = 240; img.data[o + 2] = 243; }
        else { var x = q / 254; img.data[o] = 255 - 75 * x; img.data[o + 1] = 255 - 215 * x; img.data[o + 2] = 255 - 205 * x; }
        img.data[o + 3] = 255;
      }
      octx.putImageData(img, 0, 0);
      var drawH = function () {
        var g = setupCanvas(hc, n * 12), ctx = g.ctx;
        ctx.imageSmoothingEnabled = false; ctx.drawImage(off, 0, 0, g.w, g.h);
      };
      hc.addEventListener("mousemove", function (evt) {
        var t = tOf(evt, hc), rr = hc.getBoundingClientRect();
        var i = Math.min(BINS - 1, Math.floor(t / M.duration * BINS)), r = Math.min(n - 1, Math.floor((evt.clientY - rr.top) / rr.height * n));
        var q = au[r * BINS + i];
        showTip(evt, fmtT(t) + "<br>" + esc(D.au_names[r].replace("_r", "")) + " " + (q === 255 ? "no face" : (q / 254 * 5).toFixed(1)));
      });
      hc.addEventListener("mouseleave", hideTip);
      hc.addEventListener("click", function (evt) { seek(tOf(evt, hc)); });
      redraws.push(drawH);
    } else right.appendChild(na("Action-unit heatmap not available (this analysis has no AU columns)."));
    return el("div", { class: "face", "data-face": f.id }, [left, right]);
  }

  /* ---------- moments ---------- */
  function visibleEvents() {
    return D.events.filter(function (e) {
      if (!state.emotions[e.emotion] && EMO.indexOf(e.emotion) >= 0) return false;
      if (EMO.indexOf(e.emotion) < 0 && !state.emotions.__other) return false;
      if (state.kind !== "all" && e.kind !== state.kind) return false;
      if (state.minConf > 0 && !(e.confidence >= state.minConf)) return false;
      if (state.leakOnly && !e.leakage) return false;
      if (state.face !== "all" && String(e.face_id) !== state.face) return false;
      return true;
    });
  }
  var grid, shown, moreBtn, observer;
  function moments() {
    var s = section("moments", "Moments");
    if (!D.available.events) { s.appendChild(na("Moments not available: micro-expression spotting has not run on this analysis (no events table).")); return; }
    if (!D.events.length) { s.appendChild(na("No moments were spotted in this video.")); return; }
    state.emotions.__other = true;
    var f = el("div", { class: "filters", id: "filters" });
    var chips = el("div", { class: "chips", id: "emotion-filter" });
    var counts = {};
    D.events.forEach(function (e) { counts[e.emotion] = (counts[e.emotion] || 0) + 1; });
    EMO.forEach(function (e) {
      if (!counts[e]) return;
      var cb = el("input", { type: "checkbox", value: e, "data-emotion": e }); cb.checked = true;
      cb.addEventListener("change", function () { state.emotions[e] = cb.checked; apply(); });
      chips.appendChild(el("label", { style: "border-color:" + COL[e] }, [cb, el("i", { style: "display:inline-block;width:9px;height:9px;border-radius:50%;background:" + COL[e] }), e + " (" + counts[e] + ")"]));
    });
    f.appendChild(chips);
    var kind = el("select", { id: "kind-filter" }, [el("option", { value: "all", text: "micro + macro" }), el("option", { value: "micro", text: "micro only" }), el("option", { value: "macro", text: "macro only" })]);
    kind.addEventListener("change", function () { state.kind = kind.value; apply(); });
    f.appendChild(el("label", null, ["Kind", kind]));
    var conf = el("input", { type: "range", id: "conf-filter", min: "0", max: "1", step: "0.05", value: "0" });
    var confOut = el("output", { text: "0.00" });
    conf.addEventListener("input", function () { state.minConf = parseFloat(conf.value); confOut.textContent = state.minConf.toFixed(2); apply(); });
    f.appendChild(el("label", null, ["Min confidence", conf, confOut]));
    var leak = el("input", { type: "checkbox", id: "leak-filter" });
    leak.addEventListener("change", function () { state.leakOnly = leak.checked; apply(); });
    f.appendChild(el("label", null, [leak, "leakage only"]));
    if (D.faces.length > 1) {
      var fs = el("select", { id: "face-filter" }, [el("option", { value: "all", text: "all faces" })]);
      D.faces.forEach(function (x) { fs.appendChild(el("option", { value: String(x.id), text: "face " + x.id })); });
      fs.addEventListener("change", function () { state.face = fs.value; apply(); });
      f.appendChild(el("label", null, ["Face", fs]));
    }
    var sort = el("select", { id: "sort" }, [el("option", { value: "time", text: "by time" }), el("option", { value: "rank", text: "most notable first" })]);
    sort.addEventListener("change", function () { state.sort = sort.value; apply(); });
    f.appendChild(el("label", null, ["Sort", sort]));
    shown = el("span", { id: "shown" });
    f.appendChild(shown);
    s.appendChild(f);
    grid = el("div", { class: "cards", id: "cards" });
    s.appendChild(grid);
    moreBtn = el("button", { class: "more", type: "button", text: "Show more" });
    moreBtn.addEventListener("click", function () { state.limit += PAGE; renderCards(); });
    s.appendChild(moreBtn);
    if ("IntersectionObserver" in window) {
      observer = new IntersectionObserver(function (entries) {
        entries.forEach(function (en) {
          var img = en.target, e = byId[img.getAttribute("data-id")];
          if (!e || !e.clip) return;
          if (en.isIntersecting) { img.src = e.clip; } else if (e.thumb) { img.src = e.thumb; }
        });
      }, { rootMargin: "100px" });
    }
    renderCards();
  }
  function card(e) {
    var pic = el("div", { class: "pic" });
    if (e.thumb || e.clip) {
      var img = el("img", { src: e.thumb || e.clip, alt: e.emotion + " at " + fmtT(e.apex_t), "data-id": e.id, loading: "lazy" });
      pic.appendChild(img);
      if (e.clip) { pic.appendChild(el("span", { class: "slow", text: "1/" + M.clip_slowdown + "×" })); if (observer) observer.observe(img); }
    }
    var body = el("div");
    var row = el("div", null, [chip(e.emotion), el("span", { class: "badge", text: e.kind })]);
    if (e.leakage) row.appendChild(el("span", { class: "badge leakage", text: "leakage" + (e.displayed_emotion ? " behind " + e.displayed_emotion : "") }));
    body.appendChild(row);
    body.appendChild(el("div", { class: "when", text: fmtT(e.apex_t) + " · " + (e.duration_s != null ? e.duration_s.toFixed(2) + " s" : "") + " · face " + e.face_id }));
    if (e.aus) body.appendChild(el("div", { class: "aus", text: "AUs " + e.aus }));
    var c = e.confidence;
    body.appendChild(el("div", { class: "conf" }, [el("span", { text: "confidence" }), el("span", { class: "bar" }, [el("b", { style: "width:" + (c == null ? 0 : 100 * c) + "%" })]), el("span", { text: c == null ? "unknown" : c.toFixed(2) })]));
    if (e.segment) body.appendChild(el("div", { class: "seg", text: "during “" + e.segment + "”" }));
    if (e.context && e.context.length) {
      var q = el("blockquote", { class: "words" });
      e.context.forEach(function (cu, i) {
        if (i) q.appendChild(el("br"));
        if (cu.speaker) q.appendChild(el("b", { text: cu.speaker + ": " }));
        q.appendChild(document.createTextNode(cu.text));
      });
      if (e.speaker) body.appendChild(el("div", { class: "speaker", text: e.speaker + " was speaking" }));
      body.appendChild(q);
    }
    if (e.reasons && e.reasons.length) {
      var ul = el("ul");
      e.reasons.slice(0, 3).forEach(function (r) { ul.appendChild(el("li", { text: r })); });
      body.appendChild(ul);
    }
    var a = el("article", { class: "card" + (e.leakage ? " leak" : ""), id: "m" + e.id, "data-id": e.id, "data-emotion": e.emotion, "data-kind": e.kind, "data-apex": e.apex_t, "data-confidence": e.confidence, tabindex: "0",
      title: video ? "play from the onset in the video" : "" }, [pic, body]);
    a.addEventListener("click", function () { seek((e.onset_t != null ? e.onset_t : e.apex_t) - 1); });
    a.addEventListener("keydown", function (k) { if (k.key === "Enter") seek((e.onset_t != null ? e.onset_t : e.apex_t) - 1); });
    return a;
  }
  function renderCards() {
    if (!grid) return;
    var list = visibleEvents();
    if (state.sort === "rank") list = list.slice().sort(function (a, b) { return b.score - a.score || a.apex_t - b.apex_t; });
    if (observer) observer.disconnect();
    grid.textContent = "";
    var frag = document.createDocumentFragment();
    list.slice(0, state.limit).forEach(function (e) { frag.appendChild(card(e)); });
    grid.appendChild(frag);
    shown.textContent = "showing " + Math.min(list.length, state.limit) + " of " + list.length + " matching (" + D.events.length + " moments)";
    grid.setAttribute("data-count", String(list.length));
    moreBtn.style.display = list.length > state.limit ? "" : "none";
  }
  function apply() { state.limit = PAGE; renderCards(); redraws.forEach(function (f) { f(); }); }
  function focusCard(id) {
    var e = byId[id]; if (!e) return;
    if (!document.getElementById("m" + id)) { // filtered out or not yet rendered: show it
      state.limit = D.events.length; renderCards();
    }
    var n = document.getElementById("m" + id);
    if (n) { n.scrollIntoView({ block: "center" }); n.classList.remove("hilite"); void n.offsetWidth; n.classList.add("hilite"); }
  }

  /* ---------- top moments + segments ---------- */
  function momentLink(id) {
    var e = byId[id];
    var a = el("a", { text: (e.emotion || "?") + " " + fmtT(e.apex_t) + (e.leakage ? " (leakage)" : "") });
    a.addEventListener("click", function () { focusCard(id); });
    return a;
  }
  function topMoments() {
    if (!D.top.length) return;
    var s = section("top", "Most notable moments");
    var ol = el("ol");
    D.top.forEach(function (id) {
      var e = byId[id];
      ol.appendChild(el("li", null, [momentLink(id), " — " + (e.reasons || []).slice(0, 3).join("; ")]));
    });
    s.appendChild(ol);
  }
  function segments() {
    if (!D.segments.length) return;
    var s = section("segments", "Segments");
    var shownEmo = EMO.filter(function (e) { return e !== "neutral"; });
    var head = el("tr", null, [el("th", { text: "Segment" }), el("th", { text: "Time" }), el("th", { text: "Moments" })]
      .concat(shownEmo.map(function (e) { return el("th", null, [chip(e)]); }))
      .concat([el("th", { text: "Leakage" }), el("th", { text: "Notable" })]));
    var tb = el("tbody");
    D.segments.forEach(function (sg) {
      var c = sg.events, nt = el("td");
      sg.notable.forEach(function (id, i) { if (i) nt.appendChild(document.createTextNode(", ")); nt.appendChild(momentLink(id)); });
      var tr = el("tr", null, [el("td", { text: sg.label }), el("td", { text: fmtT(sg.start) + " – " + fmtT(sg.end) }), el("td", { text: String(c.total) })]
        .concat(shownEmo.map(function (e) { return el("td", { text: c.by_emotion[e] ? String(c.by_emotion[e]) : "·" }); }))
        .concat([el("td", { text: String(c.leakage) }), nt]));
      tb.appendChild(tr);
    });
    s.appendChild(el("table", null, [el("thead", null, [head]), tb]));
  }
  function player() {
    if (!M.video_src) return;
    video = el("video", { controls: "", preload: "metadata", src: M.video_src });
    var btn = el("button", { type: "button", text: "hide", style: "padding:0 6px;font-size:11px" });
    var p = el("aside", { id: "player" }, [video, el("div", { class: "bar" }, [el("span", { text: M.video_name || "video" }), btn])]);
    btn.addEventListener("click", function () { p.classList.toggle("min"); btn.textContent = p.classList.contains("min") ? "show" : "hide"; });
    document.body.appendChild(p);
  }

  /* ---------- page ---------- */
  function main() {
    header();
    app.textContent = "";
    if (D.notes.length) {
      var n = section("notes");
      n.className = "notes";
      D.notes.forEach(function (t) { n.appendChild(el("p", { class: "note", text: t })); });
    }
    player();
    if (!D.faces.length) {
      var s = section("noface", "No face was found in this video");
      s.appendChild(el("p", { text: "tells looked at every frame of " + (M.video_name || "the video") + " (" + fmtT(M.duration) + ") and found no face it could analyse, so there are no timelines or moments. Check that a face is visible, large enough and lit, then analyse again." }));
    } else {
      overview();
      topMoments();
      faces();
      moments();
      segments();
    }
    redraws.forEach(function (f) { f(); });
    var t;
    window.addEventListener("resize", function () { clearTimeout(t); t = setTimeout(function () { redraws.forEach(function (f) { f(); }); }, 120); });
    window.tells = { data: D, state: state, apply: apply, visibleEvents: visibleEvents };
    window.tellsReadyMs = performance.now();
    document.body.dataset.ready = "1";
    // first frame with everything drawn has been painted: the page responds from here on
    requestAnimationFrame(function () { setTimeout(function () {
      window.tellsPaintedMs = performance.now(); document.body.dataset.painted = "1"; }, 0); });
  }
  main();
})();
