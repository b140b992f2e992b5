/*
 * The Living Rusted Tankard — browser client.
 *
 * Implements docs/protocol.md (in a shared tavern too: the room.* frames). Rules this file keeps:
 *  - every piece of server text reaches the page through textContent / createTextNode;
 *  - no eval, no inline handlers, no inline styles in markup (works under a strict CSP);
 *  - each command is applied exactly once: unanswered ids stay in the outbox and are
 *    resent with the SAME id after a reconnect until their final frame arrives.
 */
(function () {
  "use strict";

  // ------------------------------------------------------------------ config
  var body = document.body;
  var CONFIG = {
    gameId: body.getAttribute("data-game-id") || "",
    wsPath: body.getAttribute("data-ws-path") || "/ws/play/",
    maxLine: parseInt(body.getAttribute("data-max-line"), 10) || 500,
    debug: body.getAttribute("data-debug") === "true",
    tavern: body.getAttribute("data-tavern") || ""
  };
  var HISTORY_KEY = "tankard.history";
  var HISTORY_MAX = 100;
  var LOG_MAX_LINES = 600;
  var BACKOFF_MIN = 500;
  var BACKOFF_MAX = 15000;
  var RELOAD_KEY = "tankard.reloadedAt";
  var FINAL_TYPES = { "narration": true, "npc.end": true, "error": true };

  function $(id) { return document.getElementById(id); }
  var el = {
    log: $("log"),
    jump: $("jump-latest"),
    form: $("command-form"),
    input: $("command-input"),
    send: $("send-button"),
    suggestions: $("suggestions"),
    status: $("connection-status"),
    statusText: $("connection-text"),
    reconnect: $("reconnect-button"),
    timeLabel: $("time-label"),
    timeIcon: $("time-icon"),
    gold: $("gold"),
    goldDetail: $("gold-detail"),
    tiredBar: $("tiredness-bar"),
    tiredLabel: $("tiredness-label"),
    tiredDetail: $("tiredness-detail"),
    room: $("room-label"),
    clues: $("clues-label"),
    locationName: $("location-name"),
    exits: $("location-exits"),
    npcList: $("npc-list"),
    npcEmpty: $("npc-empty"),
    playersHeading: $("players-heading"),
    playerList: $("player-list"),
    youAre: $("you-are"),
    inventory: $("inventory"),
    inventoryEmpty: $("inventory-empty"),
    chestPanel: $("panel-chest"),
    chest: $("chest"),
    chestEmpty: $("chest-empty"),
    bounties: $("bounty-list"),
    bountyEmpty: $("bounty-empty"),
    map: $("map")
  };

  function debug() {
    if (CONFIG.debug && window.console) {
      console.debug.apply(console, ["[tankard]"].concat([].slice.call(arguments)));
    }
  }

  // ------------------------------------------------------------------ small DOM helpers
  /** Create an element; `text` always goes in as a text node. */
  function make(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }
  function str(value, fallback) {
    if (value === undefined || value === null) return fallback === undefined ? "" : fallback;
    return String(value);
  }
  function arr(value) { return Array.isArray(value) ? value : []; }
  function num(value, fallback) {
    var n = Number(value);
    return isFinite(n) ? n : fallback;
  }
  /** Re-render a container only when its data changed (keeps focus and scroll stable). */
  function changed(node, data) {
    var key = JSON.stringify(data === undefined ? null : data);
    if (node._tankardKey === key) return false;
    node._tankardKey = key;
    return true;
  }
  /** Remember whether focus sat inside `node` before a re-render, to put it back after. */
  function focusWithin(node) {
    var active = document.activeElement;
    if (!active || !node.contains(active)) return null;
    return { key: active.getAttribute("data-key"), index: [].indexOf.call(node.querySelectorAll("button"), active) };
  }
  function restoreFocus(node, saved) {
    if (!saved) return;
    var buttons = node.querySelectorAll("button");
    var target = null;
    for (var i = 0; i < buttons.length; i++) {
      if (saved.key && buttons[i].getAttribute("data-key") === saved.key) { target = buttons[i]; break; }
    }
    if (!target && buttons.length) target = buttons[Math.min(Math.max(saved.index, 0), buttons.length - 1)];
    (target || el.input).focus();
  }
  function titleCase(slug) {
    return str(slug).replace(/[-_]+/g, " ").replace(/\b\w/g, function (c) { return c.toUpperCase(); });
  }

  // ------------------------------------------------------------------ the log
  var stickToBottom = true;
  var autoTop = 0;  // where we last scrolled the log ourselves

  function nearBottom() {
    return el.log.scrollHeight - el.log.scrollTop - el.log.clientHeight < 48;
  }
  function autoScroll() {
    el.log.scrollTop = el.log.scrollHeight;
    autoTop = el.log.scrollTop;
  }
  function scrollToLatest() {
    autoScroll();
    stickToBottom = true;
    el.jump.hidden = true;
  }
  function afterLogChange() {
    if (stickToBottom) {
      autoScroll();
    } else {
      el.jump.hidden = false;
    }
  }
  // Scroll events arrive asynchronously, possibly after more text has landed, so only a
  // scroll *above* where we last put the log counts as the player reading back.
  el.log.addEventListener("scroll", function () {
    if (nearBottom()) {
      stickToBottom = true;
      el.jump.hidden = true;
    } else if (el.log.scrollTop < autoTop - 4) {
      stickToBottom = false;
    }
    autoTop = Math.min(autoTop, el.log.scrollTop);
  }, { passive: true });
  if (window.ResizeObserver) {
    new ResizeObserver(function () { if (stickToBottom) autoScroll(); }).observe(el.log);
  }
  el.jump.addEventListener("click", function () {
    scrollToLatest();
    el.input.focus();
  });

  function appendLine(node) {
    el.log.appendChild(node);
    while (el.log.childNodes.length > LOG_MAX_LINES) el.log.removeChild(el.log.firstChild);
    afterLogChange();
    return node;
  }
  function addLine(kind, text) {
    return appendLine(make("p", "line " + kind, text));
  }

  function youLine(text) {
    var line = make("p", "line you");
    line.appendChild(make("span", "caret", "> "));
    line.appendChild(make("span", "said", text));
    var badge = make("span", "badge", "pending");
    badge.hidden = true;
    line.appendChild(badge);
    return line;
  }
  function echoLine(text) {
    return appendLine(youLine(text));
  }
  function markLine(line, status) {
    if (!line) return;
    line.setAttribute("data-status", status);
    var badge = line.querySelector(".badge");
    if (badge) badge.hidden = status !== "pending";
  }

  function errorNode(text) {
    var line = make("p", "line error");
    line.appendChild(make("span", "glyph", "\u2767 "));
    line.appendChild(make("span", "words", text));
    return line;
  }
  function errorLine(text, retryText) {
    var line = errorNode(text);
    if (retryText) {
      var again = make("button", "link-button retry", "Try again");
      again.type = "button";
      again.addEventListener("click", function () {
        again.disabled = true;
        submitText(retryText);
        el.input.focus();
      });
      line.appendChild(document.createTextNode(" "));
      line.appendChild(again);
    }
    return appendLine(line);
  }

  // ------------------------------------------------------------------ NPC speech
  var speeches = {};   // reply_to|npc -> {line, words, done}
  var thinking = {};   // reply_to|npc -> line

  function speechKey(frame) { return str(frame.reply_to, "-") + "|" + str(frame.npc, "?"); }

  var knownNames = {};  // slug -> name, from state frames and npc.start (NPCs who left keep theirs)

  function npcName(slug, given) {
    if (given) return String(given);
    var npcs = arr(state && state.npcs);
    for (var i = 0; i < npcs.length; i++) {
      if (npcs[i] && npcs[i].slug === slug) return str(npcs[i].name, titleCase(slug));
    }
    if (Object.prototype.hasOwnProperty.call(knownNames, slug)) return knownNames[slug];
    return titleCase(slug) || "Someone";
  }
  function speechLine(slug, name) {
    var line = make("p", "line npc");
    line.setAttribute("data-npc", str(slug));
    line.appendChild(make("span", "speaker", npcName(slug, name)));
    line.appendChild(make("span", "sep", ": "));
    var words = make("span", "speech");
    words.appendChild(document.createTextNode(""));
    line.appendChild(words);
    return { line: line, words: words };
  }

  function dropThinking(key) {
    var line = thinking[key];
    if (line) {
      if (line.parentNode) line.parentNode.removeChild(line);
      delete thinking[key];
    }
  }
  /** A final frame other than npc.end ended this reply: tidy any speech left open. */
  function closeSpeechesFor(replyTo) {
    var prefix = str(replyTo, "-") + "|";
    Object.keys(speeches).forEach(function (key) {
      if (key.indexOf(prefix) !== 0) return;
      var speech = speeches[key];
      if (!speech.words.textContent && speech.line.parentNode) {
        speech.line.parentNode.removeChild(speech.line);
      } else {
        speech.line.hidden = false;
        speech.line.removeAttribute("aria-busy");
      }
      delete speeches[key];
    });
  }
  function dropThinkingFor(replyTo) {
    var prefix = str(replyTo, "-") + "|";
    Object.keys(thinking).forEach(function (key) {
      if (key.indexOf(prefix) === 0) dropThinking(key);
    });
  }

  function startSpeech(frame, restart) {
    var key = speechKey(frame);
    var existing = speeches[key];
    if (existing && !existing.done) {
      // A reply cut off by a dropped connection starts again from its first word when the
      // line is resent: the words already shown are replaced, not added to.
      if (restart) {
        clear(existing.words);
        existing.words.appendChild(document.createTextNode(""));
      }
      return existing;
    }
    if (frame.npc && frame.name) knownNames[frame.npc] = String(frame.name);
    var built = speechLine(frame.npc, frame.name);
    var line = built.line;
    line.setAttribute("aria-busy", "true");
    var speech = { line: line, words: built.words, done: false };
    speeches[key] = speech;
    // While a "thinking" line is showing, the reply waits (hidden) in the same place
    // and appears when the first words arrive.
    var think = thinking[key];
    if (think && think.parentNode) {
      line.hidden = true;
      think.parentNode.insertBefore(line, think);
      afterLogChange();
    } else {
      appendLine(line);
    }
    return speech;
  }

  function showSpeech(key, speech) {
    dropThinking(key);
    if (speech) speech.line.hidden = false;
  }

  function onThinking(frame) {
    var key = speechKey(frame);
    var speech = speeches[key];
    if (speech && (speech.done || speech.words.textContent)) return; // words already flowing
    var line = thinking[key];
    if (!line) {
      line = make("p", "line thinking");
      thinking[key] = line;
      if (speech && speech.line.parentNode) {
        // An empty reply line is already showing: the thinking line takes its place.
        speech.line.hidden = true;
        speech.line.parentNode.insertBefore(line, speech.line.nextSibling);
      } else {
        appendLine(line);
      }
    }
    line.textContent = str(frame.text, npcName(frame.npc) + " considers\u2026");
    afterLogChange();
  }

  function onToken(frame) {
    var key = speechKey(frame);
    var speech = speeches[key] || startSpeech(frame);
    if (speech.done) return;
    showSpeech(key, speech);
    speech.words.firstChild.appendData(str(frame.text));
    afterLogChange();
  }

  function onNpcEnd(frame) {
    var key = speechKey(frame);
    var speech = speeches[key];
    if (!speech || speech.done) speech = startSpeech(frame);
    showSpeech(key, speech);
    speech.words.textContent = str(frame.text, speech.words.textContent);
    speech.done = true;
    speech.line.removeAttribute("aria-busy");
    speech.line.setAttribute("data-source", str(frame.source));
    // Where the words came from is for developers (hover, or data-source): never part of the story.
    if (CONFIG.debug && frame.source) speech.line.title = "source: " + frame.source;
    delete speeches[key];
    afterLogChange();
  }

  // ------------------------------------------------------------------ the room (a shared tavern)
  // Other players' words aloud (room.say) and the NPC's reply to them (room.npc.*), keyed by the
  // `said` id the server gives each; who stands here (state.players, room.join/leave/rename).
  var overheard = {};   // said -> {line, words}
  var roomPlayers = [];
  var myName = "";

  function onRoomSay(frame) {
    var line = make("p", "line aloud");
    line.appendChild(make("span", "who", str(frame.name, "Someone")));
    line.appendChild(document.createTextNode(" (to " + npcName(frame.npc, frame.npc_name) + "): "));
    line.appendChild(make("span", "said", str(frame.text)));
    appendLine(line);
  }
  function onRoomChat(frame) {  // another player's words to the room, or their gesture
    var line = make("p", "line aloud");
    if (frame.type === "room.chat") {
      line.appendChild(make("span", "who", str(frame.name, "Someone")));
      line.appendChild(document.createTextNode(" says: "));
      line.appendChild(make("span", "said", str(frame.text)));
    } else {
      line.appendChild(make("span", "said", str(frame.text)));
    }
    appendLine(line);
  }
  function overheardSpeech(frame) {
    var key = str(frame.said, "?");
    var speech = overheard[key];
    if (!speech) {
      var built = speechLine(frame.npc, frame.name);
      built.line.classList.add("overheard");
      if (frame.to) built.line.querySelector(".speaker").setAttribute("data-to", " to " + str(frame.to));
      speech = overheard[key] = { line: built.line, words: built.words };
      appendLine(built.line);
    }
    return speech;
  }
  function onRoomToken(frame) {
    var speech = overheardSpeech(frame);
    speech.words.firstChild.appendData(str(frame.text));
    afterLogChange();
  }
  function onRoomEnd(frame) {
    var speech = overheardSpeech(frame);
    speech.words.textContent = str(frame.text, speech.words.textContent);
    delete overheard[str(frame.said, "?")];
    afterLogChange();
  }
  function onPresence(frame) {
    var name = str(frame.name);
    if (!name) return;
    if (frame.type === "room.join") {
      if (roomPlayers.indexOf(name) === -1) roomPlayers.push(name);
      addLine("arrival", name + " comes over and joins you.");
    } else if (frame.type === "room.leave") {
      roomPlayers = roomPlayers.filter(function (p) { return p !== name; });
      addLine("arrival", name + " is no longer here.");
    } else {
      var before = str(frame.from);
      roomPlayers = roomPlayers.filter(function (p) { return p !== before; }).concat([name]);
      if (before === myName) myName = name;
      addLine("arrival", before + " will answer to " + name + " from now on.");
    }
    renderPlayers();
  }
  function renderPlayers() {
    if (!el.playerList) return;
    var others = roomPlayers.filter(function (p) { return p !== myName; }).sort();
    if (el.youAre) el.youAre.textContent = myName ? " \u00B7 you are " + myName : "";
    el.playersHeading.hidden = el.playerList.hidden = !CONFIG.tavern;
    if (!changed(el.playerList, others)) return;
    clear(el.playerList);
    others.forEach(function (name) { el.playerList.appendChild(make("li", "player", name)); });
    if (!others.length) el.playerList.appendChild(make("li", "empty", "Nobody else yet."));
  }

  // ------------------------------------------------------------------ the story so far
  // On connect the server sends a `history` frame with the game's last turns. A page that has
  // just loaded shows them above where the player now stands; a page that reconnects already has
  // its own log and ignores them.
  var historyShown = false;

  function historyLines(turn) {
    var lines = [];
    var said = str(turn.text).trim();
    var npc = str(turn.npc);
    if (said) {
      var you = youLine(turn.kind === "say" && npc ? "@" + npc + " " + said : said);
      you.setAttribute("data-status", "done");
      lines.push(you);
    }
    var reply = str(turn.reply);
    if (!reply) return lines;
    if (turn.reply_type === "npc.end") {
      var speech = speechLine(npc, turn.npc_name || null);
      speech.words.textContent = reply;
      lines.push(speech.line);
    } else if (turn.reply_type === "error") {
      lines.push(errorNode(reply));
    } else {
      lines.push(make("p", "line narration", reply));
    }
    return lines;
  }

  function onHistory(frame) {
    if (historyShown) return;
    historyShown = true;
    if (el.log.querySelector(".line.you")) return;
    var lines = [];
    arr(frame.turns).forEach(function (turn) {
      if (turn && typeof turn === "object") lines = lines.concat(historyLines(turn));
    });
    if (!lines.length) return;
    lines.push(make("p", "line divider", "You pick up where you left off."));
    var fragment = document.createDocumentFragment();
    lines.forEach(function (line) {
      line.classList.add("past");
      fragment.appendChild(line);
    });
    el.log.insertBefore(fragment, el.log.firstChild);
    while (el.log.childNodes.length > LOG_MAX_LINES) el.log.removeChild(el.log.firstChild);
    scrollToLatest();
  }

  // ------------------------------------------------------------------ outbox & sending
  var idPrefix = "c-" + Math.random().toString(36).slice(2, 8) + Date.now().toString(36).slice(-4);
  var idCounter = 0;
  var outbox = new Map();        // id -> {frame, line, sent}
  var answered = new Set();      // ids whose final frame we already showed
  var answeredOrder = [];

  function nextId() {
    idCounter += 1;
    return idPrefix + "-" + idCounter;
  }

  function rememberAnswered(id) {
    if (answered.has(id)) return;
    answered.add(id);
    answeredOrder.push(id);
    if (answeredOrder.length > 500) answered.delete(answeredOrder.shift());
  }

  function transmit(entry) {
    if (!socketOpen()) return false;
    try {
      ws.send(JSON.stringify(entry.frame));
    } catch (e) {
      debug("send failed", e);
      return false;
    }
    entry.sent = true;
    markLine(entry.line, "sent");
    debug("->", entry.frame);
    return true;
  }

  function flushOutbox() {
    outbox.forEach(function (entry) { transmit(entry); });
    updateHook();
  }

  /** Work out whether `text` speaks to an NPC who is present. Returns {npc, text} or null. */
  function parseSay(text) {
    var npcs = arr(state && state.npcs).filter(function (n) { return n && n.slug; });
    if (!npcs.length) return null;
    var rest = null;
    var m;
    if ((m = /^@(\S+)\s*[:,]?\s*([\s\S]*)$/.exec(text))) {
      return matchNpc(npcs, m[1].replace(/[:,]+$/, ""), m[2]);
    } else if ((m = /^say\s+(?:to\s+)?([\s\S]+)$/i.exec(text))) {
      rest = m[1];
    } else if ((m = /^(?:talk|speak)\s+(?:to|with)\s+([\s\S]+)$/i.exec(text))) {
      rest = m[1];
      // "talk to gareth" alone is a command; we need a separator before the words.
      if (!/[:,]/.test(rest)) return null;
    } else {
      return null;
    }
    // Find the longest name/slug that the rest starts with.
    var lower = rest.toLowerCase();
    var best = null;
    npcs.forEach(function (npc) {
      namesOf(npc).forEach(function (name) {
        if (lower.indexOf(name) === 0 && /^(?:$|[\s:,])/.test(lower.slice(name.length))) {
          if (!best || name.length > best.name.length) best = { npc: npc, name: name };
        }
      });
    });
    if (!best) return null;
    var words = rest.slice(best.name.length).replace(/^\s*[:,]?\s*/, "");
    if (!words.trim()) return null;
    return { npc: best.npc.slug, text: words };
  }
  function namesOf(npc) {
    var names = [String(npc.slug).toLowerCase()];
    var name = str(npc.name).toLowerCase().trim();
    if (name) {
      names.push(name);
      names.push(name.split(/\s+/)[0]);
      names.push(name.replace(/\s+/g, "-"));
    }
    return names;
  }
  function matchNpc(npcs, word, words) {
    var w = word.toLowerCase();
    for (var i = 0; i < npcs.length; i++) {
      if (namesOf(npcs[i]).indexOf(w) !== -1) {
        if (!words.trim()) return null;
        return { npc: npcs[i].slug, text: words };
      }
    }
    return null;
  }

  /** Send a line the player typed (or a chip/exit asked for). Returns the id used. */
  function submitText(raw) {
    var text = str(raw).replace(/[\r\n]+/g, " ").trim();
    if (!text) return null;
    var id = nextId();
    var say = parseSay(text);
    var frame = say
      ? { type: "say", id: id, npc: say.npc, text: say.text }
      : { type: "command", id: id, text: text };
    var line = echoLine(text);
    var entry = { frame: frame, line: line, sent: false };
    outbox.set(id, entry);
    stickToBottom = true;
    scrollToLatest();
    if (!transmit(entry)) markLine(line, "pending");
    updateHook();
    return id;
  }

  // ------------------------------------------------------------------ input, history
  var history = loadHistory();
  var historyPos = history.length;
  var draft = "";

  function loadHistory() {
    try {
      var saved = JSON.parse(window.localStorage.getItem(HISTORY_KEY) || "[]");
      return Array.isArray(saved) ? saved.filter(function (s) { return typeof s === "string"; }).slice(-HISTORY_MAX) : [];
    } catch (e) {
      return [];
    }
  }
  function pushHistory(text) {
    if (history[history.length - 1] !== text) history.push(text);
    while (history.length > HISTORY_MAX) history.shift();
    historyPos = history.length;
    draft = "";
    try { window.localStorage.setItem(HISTORY_KEY, JSON.stringify(history)); } catch (e) { /* private mode */ }
  }
  function setInput(text) {
    el.input.value = text;
    var end = el.input.value.length;
    try { el.input.setSelectionRange(end, end); } catch (e) { /* not focused */ }
  }

  el.input.maxLength = CONFIG.maxLine;

  el.form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var text = el.input.value.trim();
    if (!text) { el.input.focus(); return; }
    pushHistory(text);
    submitText(text);
    el.input.value = "";
    el.input.focus();
  });

  el.input.addEventListener("keydown", function (ev) {
    if (ev.isComposing || ev.altKey || ev.ctrlKey || ev.metaKey) return;
    if (ev.key === "ArrowUp") {
      if (!history.length || historyPos === 0) return;
      if (historyPos === history.length) draft = el.input.value;
      historyPos -= 1;
      setInput(history[historyPos]);
      ev.preventDefault();
    } else if (ev.key === "ArrowDown") {
      if (historyPos >= history.length) return;
      historyPos += 1;
      setInput(historyPos === history.length ? draft : history[historyPos]);
      ev.preventDefault();
    } else if (ev.key === "Escape") {
      if (el.input.value) {
        el.input.value = "";
        historyPos = history.length;
        ev.preventDefault();
      }
    }
  });

  // "/" from anywhere outside a text field jumps to the command line.
  document.addEventListener("keydown", function (ev) {
    if (ev.key !== "/" || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    var t = ev.target;
    var tag = t && t.tagName;
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (t && t.isContentEditable)) return;
    ev.preventDefault();
    el.input.focus();
  });

  var skip = document.querySelector(".skip-link");
  if (skip) {
    skip.addEventListener("click", function (ev) {
      ev.preventDefault();
      el.input.focus();
      el.input.scrollIntoView({ block: "nearest" });
    });
  }

  function talkTo(slug) {
    setInput("@" + slug + " ");
    el.input.focus();
    var end = el.input.value.length;
    el.input.setSelectionRange(end, end);
  }

  // ------------------------------------------------------------------ state rendering
  var state = null;
  var shownLocation = null;
  var lastAnswer = null;  // the latest narration answering a line: a move's room heading goes above it

  var PART_ICONS = {
    dawn: "\u263C", morning: "\u263C", midday: "\u2600", noon: "\u2600", afternoon: "\u2600",
    dusk: "\u263E", evening: "\u263E", night: "\u2605", midnight: "\u2605", "small hours": "\u2605"
  };

  function onState(frame) {
    if (state && frame.session === state.session &&
        num(frame.version, 0) < num(state.version, 0)) {
      debug("stale state ignored", frame.version, "<", state.version);
      return;
    }
    state = frame;
    renderTime(frame.time || {});
    renderPlayer(frame.player || {});
    renderLocation(frame.location || {});
    renderNpcs(arr(frame.npcs));
    renderItems(el.inventory, el.inventoryEmpty, arr(frame.inventory));
    var hasRoom = !!(frame.player && frame.player.room);
    el.chestPanel.hidden = !hasRoom;
    if (hasRoom) renderItems(el.chest, el.chestEmpty, arr(frame.chest));
    renderBounties(arr(frame.bounties));
    renderMap(arr(frame.map), frame.location || {});
    renderSuggestions(arr(frame.suggestions));
    if (frame.tavern && typeof frame.tavern === "object") myName = str(frame.tavern.you);
    if (Array.isArray(frame.players)) roomPlayers = frame.players.filter(function (p) { return typeof p === "string"; });
    renderPlayers();
    lastAnswer = null;
    updateHook();
  }

  function renderTime(time) {
    el.timeLabel.textContent = str(time.label, "");
    el.timeLabel.title = str(time.label, "");
    var part = str(time.part).toLowerCase();
    el.timeIcon.textContent = PART_ICONS[part] || "\u2726";
    if (part) body.setAttribute("data-part", part.replace(/\s+/g, "-"));
  }

  function renderPlayer(player) {
    var gold = num(player.gold, null);
    el.gold.textContent = gold === null ? "\u2013" : String(gold);
    el.goldDetail.textContent = gold === null ? "\u2013" : gold + (gold === 1 ? " gold coin" : " gold coins");

    var tired = Math.max(0, Math.min(100, num(player.tiredness, 0)));
    var tiredLabel = str(player.tiredness_label, tired + "%");
    el.tiredLabel.textContent = tiredLabel;
    el.tiredDetail.textContent = tiredLabel + " (" + tired + " of 100)";
    el.tiredBar.setAttribute("aria-valuenow", String(tired));
    el.tiredBar.setAttribute("aria-valuetext", tiredLabel);
    // CSSOM custom property: allowed under a strict style-src (unlike a style attribute).
    el.tiredBar.style.setProperty("--fill", tired + "%");
    el.tiredBar.setAttribute("data-level", tired >= 80 ? "high" : tired >= 50 ? "mid" : "low");

    el.room.textContent = player.room ? titleCase(player.room) : "None taken";
    if (player.clues_total !== undefined && player.clues_total !== null) {
      el.clues.textContent = num(player.clues, 0) + " of " + num(player.clues_total, 0);
    } else {
      el.clues.textContent = player.clues !== undefined ? str(player.clues) : "\u2013";
    }
  }

  function renderLocation(location) {
    var name = str(location.name, "Somewhere in the Tankard");
    el.locationName.textContent = name;
    if (location.slug !== shownLocation) {
      var first = shownLocation === null && !el.log.querySelector(".line");
      shownLocation = location.slug;
      if (location.slug) {
        var heading = make("p", "line place", name);
        // The state frame follows the narration of the move ("The Kitchen. Hot, loud..."):
        // the room's heading belongs above that narration, not below it.
        if (lastAnswer && lastAnswer === el.log.lastChild) {
          el.log.insertBefore(heading, lastAnswer);
          afterLogChange();
        } else {
          appendLine(heading);
        }
        if (first && location.description) addLine("narration", location.description);
      }
    }
    var exits = arr(location.exits);
    if (!changed(el.exits, exits)) return;
    var saved = focusWithin(el.exits);
    clear(el.exits);
    if (exits.length) el.exits.appendChild(make("span", "exits-label", "Ways out:"));
    exits.forEach(function (exit) {
      if (!exit || !exit.slug) return;
      var b = make("button", "exit", str(exit.name, titleCase(exit.slug)));
      b.type = "button";
      b.setAttribute("data-key", exit.slug);
      b.setAttribute("data-exit", exit.slug);
      b.setAttribute("aria-label", "Go to " + str(exit.name, titleCase(exit.slug)));
      b.addEventListener("click", function () { submitText("go " + exit.slug); el.input.focus(); });
      el.exits.appendChild(b);
    });
    restoreFocus(el.exits, saved);
  }

  function renderNpcs(npcs) {
    npcs.forEach(function (npc) { if (npc && npc.slug && npc.name) knownNames[npc.slug] = String(npc.name); });
    if (!changed(el.npcList, npcs)) return;
    var saved = focusWithin(el.npcList);
    clear(el.npcList);
    npcs.forEach(function (npc) {
      if (!npc || !npc.slug) return;
      var li = make("li");
      var b = make("button", "npc-button");
      b.type = "button";
      b.setAttribute("data-npc", npc.slug);
      b.setAttribute("data-key", npc.slug);
      var name = str(npc.name, titleCase(npc.slug));
      b.appendChild(make("span", "npc-name", name));
      var details = [npc.role, npc.mood].filter(Boolean).map(String);
      if (details.length) b.appendChild(make("span", "npc-role", details.join(" \u00B7 ")));
      if (npc.tier) b.appendChild(make("span", "npc-tier", str(npc.tier)));
      b.setAttribute("aria-label", "Talk to " + name + (details.length ? ", " + details.join(", ") : "") +
        (npc.tier ? ", " + npc.tier : ""));
      b.addEventListener("click", function () { talkTo(npc.slug); });
      li.appendChild(b);
      el.npcList.appendChild(li);
    });
    el.npcEmpty.hidden = npcs.length > 0;
    restoreFocus(el.npcList, saved);
  }

  function renderItems(list, empty, items) {
    if (!changed(list, items)) return;
    clear(list);
    items.forEach(function (item) {
      if (!item) return;
      var li = make("li", "item");
      var qty = num(item.qty, 1);
      li.appendChild(make("span", "item-name", str(item.name, titleCase(item.slug))));
      if (qty !== 1) li.appendChild(make("span", "qty", "\u00D7" + qty));
      list.appendChild(li);
    });
    empty.hidden = items.length > 0;
  }

  function renderBounties(bounties) {
    if (!changed(el.bounties, bounties)) return;
    clear(el.bounties);
    bounties.forEach(function (b) {
      if (!b) return;
      var li = make("li", "bounty");
      li.appendChild(make("h3", "bounty-title", str(b.title, titleCase(b.slug))));
      if (b.objective) li.appendChild(make("p", "bounty-objective", b.objective));
      var total = num(b.total, 0);
      if (total > 0) {
        var done = Math.max(0, Math.min(total, num(b.done, 0)));
        var bar = make("div", "bar bounty-bar");
        bar.setAttribute("role", "progressbar");
        bar.setAttribute("aria-valuemin", "0");
        bar.setAttribute("aria-valuemax", String(total));
        bar.setAttribute("aria-valuenow", String(done));
        bar.setAttribute("aria-label", str(b.title, "Bounty") + " progress");
        bar.style.setProperty("--fill", Math.round(done / total * 100) + "%");
        bar.appendChild(make("span", "bar-fill"));
        var row = make("div", "bounty-progress");
        row.appendChild(bar);
        row.appendChild(make("span", "bounty-count", done + " / " + total));
        li.appendChild(row);
      }
      el.bounties.appendChild(li);
    });
    el.bountyEmpty.hidden = bounties.length > 0;
  }

  // -- the map: rooms laid out in rows by distance from the first room (a stable layout),
  //    connections drawn as SVG lines behind the boxes.
  var SVG_NS = "http://www.w3.org/2000/svg";
  var mapEdges = [];

  function renderMap(rooms, location) {
    var here = location.slug;
    var reachable = {};
    arr(location.exits).forEach(function (x) { if (x && x.slug) reachable[x.slug] = true; });
    if (!changed(el.map, { rooms: rooms, here: here, reachable: reachable })) return;
    var saved = focusWithin(el.map);
    clear(el.map);
    mapEdges = [];
    if (!rooms.length) {
      el.map.appendChild(make("p", "empty", "No map yet."));
      return;
    }
    var bySlug = {};
    rooms.forEach(function (r) { if (r && r.slug) bySlug[r.slug] = r; });
    rooms.forEach(function (r) {
      if (r && r.here) here = r.slug;
    });
    // Breadth-first layering from the first room.
    var depth = {};
    var order = [];
    var queue = [];
    rooms.forEach(function (r) {
      if (!r || !r.slug || depth[r.slug] !== undefined) return;
      depth[r.slug] = order.length ? maxDepth(depth) + 1 : 0;
      queue.push(r.slug);
      while (queue.length) {
        var slug = queue.shift();
        order.push(slug);
        arr(bySlug[slug].exits).forEach(function (next) {
          if (bySlug[next] && depth[next] === undefined) {
            depth[next] = depth[slug] + 1;
            queue.push(next);
          }
        });
      }
    });
    var svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("class", "map-lines");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    el.map.appendChild(svg);

    var rows = [];
    order.forEach(function (slug) {
      var d = depth[slug];
      (rows[d] = rows[d] || []).push(slug);
    });
    var boxes = {};
    rows.forEach(function (row) {
      if (!row) return;
      var rowEl = make("div", row.length > 4 ? "map-row crowded" : "map-row");
      row.forEach(function (slug) {
        var room = bySlug[slug];
        var name = str(room.name, titleCase(slug));
        var box;
        if (slug === here) {
          box = make("div", "room here");
          box.setAttribute("aria-current", "location");
          box.appendChild(make("span", "room-name", shortName(name)));
          box.appendChild(make("span", "room-note", "you are here"));
        } else if (reachable[slug] || arr((bySlug[here] || {}).exits).indexOf(slug) !== -1) {
          box = make("button", "room door");
          box.type = "button";
          box.setAttribute("data-key", slug);
          box.setAttribute("data-exit", slug);
          box.setAttribute("aria-label", "Go to " + name);
          box.appendChild(make("span", "room-name", shortName(name)));
          box.addEventListener("click", function () { submitText("go " + slug); el.input.focus(); });
        } else {
          box = make("div", "room");
          box.appendChild(make("span", "room-name", shortName(name)));
          box.title = name;
        }
        box.setAttribute("data-room", slug);
        boxes[slug] = box;
        rowEl.appendChild(box);
      });
      el.map.appendChild(rowEl);
    });
    var seen = {};
    order.forEach(function (slug) {
      arr(bySlug[slug].exits).forEach(function (next) {
        if (!boxes[next]) return;
        var key = slug < next ? slug + "|" + next : next + "|" + slug;
        if (seen[key]) return;
        seen[key] = true;
        mapEdges.push({ a: boxes[slug], b: boxes[next], near: slug === here || next === here });
      });
    });
    drawMapLines();
    restoreFocus(el.map, saved);
  }
  /** "The Upstairs Landing" -> "Upstairs Landing": room boxes are small. */
  function shortName(name) {
    return name.replace(/^the\s+/i, "");
  }
  function maxDepth(depth) {
    var m = 0;
    Object.keys(depth).forEach(function (k) { if (depth[k] > m) m = depth[k]; });
    return m;
  }
  function drawMapLines() {
    var svg = el.map.querySelector("svg.map-lines");
    if (!svg) return;
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    var box = el.map.getBoundingClientRect();
    if (!box.width) return;
    svg.setAttribute("viewBox", "0 0 " + box.width + " " + box.height);
    svg.setAttribute("width", String(box.width));
    svg.setAttribute("height", String(box.height));
    mapEdges.forEach(function (edge) {
      var a = edge.a.getBoundingClientRect();
      var b = edge.b.getBoundingClientRect();
      var line = document.createElementNS(SVG_NS, "line");
      line.setAttribute("x1", String(a.left + a.width / 2 - box.left));
      line.setAttribute("y1", String(a.top + a.height / 2 - box.top));
      line.setAttribute("x2", String(b.left + b.width / 2 - box.left));
      line.setAttribute("y2", String(b.top + b.height / 2 - box.top));
      line.setAttribute("class", edge.near ? "edge near" : "edge");
      svg.appendChild(line);
    });
  }
  if (window.ResizeObserver) {
    new ResizeObserver(function () { drawMapLines(); }).observe(el.map);
  } else {
    window.addEventListener("resize", drawMapLines);
  }

  function renderSuggestions(suggestions) {
    suggestions = suggestions.filter(function (s) { return typeof s === "string" && s.trim(); }).slice(0, 12);
    if (!changed(el.suggestions, suggestions)) return;
    var saved = focusWithin(el.suggestions);
    clear(el.suggestions);
    suggestions.forEach(function (text) {
      var b = make("button", "chip", text);
      b.type = "button";
      b.setAttribute("data-key", text);
      b.setAttribute("data-suggestion", text);
      b.title = "Send \u201C" + text + "\u201D (Shift: just fill the line)";
      b.addEventListener("click", function (ev) {
        if (ev.shiftKey) {
          setInput(text + " ");
          el.input.focus();
          return;
        }
        pushHistory(text);
        submitText(text);
        el.input.focus();
      });
      el.suggestions.appendChild(b);
    });
    el.suggestions.hidden = suggestions.length === 0;
    restoreFocus(el.suggestions, saved);
  }

  // ------------------------------------------------------------------ incoming frames
  function handleFrame(frame) {
    if (!frame || typeof frame !== "object") return;
    var type = frame.type;
    var replyTo = frame.reply_to;

    if (FINAL_TYPES[type] && replyTo !== null && replyTo !== undefined) {
      if (answered.has(replyTo) && !outbox.has(replyTo)) {
        debug("duplicate final frame ignored", replyTo);
        return;
      }
    }

    switch (type) {
      case "state":
        onState(frame);
        break;
      case "history":
        onHistory(frame);
        break;
      case "narration":
        dropThinkingFor(replyTo);
        closeSpeechesFor(replyTo);
        var said = addLine("narration", str(frame.text));
        if (replyTo !== null && replyTo !== undefined) lastAnswer = said;
        break;
      case "npc.thinking":
        onThinking(frame);
        break;
      case "npc.start":
        startSpeech(frame, true);
        break;
      case "npc.token":
        onToken(frame);
        break;
      case "npc.end":
        onNpcEnd(frame);
        break;
      case "room.say":
        onRoomSay(frame);
        return;
      case "room.chat":
      case "room.emote":
        onRoomChat(frame);
        return;
      case "room.npc.start":
        overheardSpeech(frame);
        return;
      case "room.npc.token":
        onRoomToken(frame);
        return;
      case "room.npc.end":
        onRoomEnd(frame);
        return;
      case "room.join":
      case "room.leave":
      case "room.rename":
        onPresence(frame);
        return;
      case "error":
        dropThinkingFor(replyTo);
        closeSpeechesFor(replyTo);
        if (frame.code === "tavern_closed" || frame.code === "bad_tavern") {
          addLine("narration", str(frame.text, "The door is barred."));
          barred = true;
          return;
        }
        if (frame.code === "no_game") {
          addLine("narration", str(frame.text, "The door swings shut. You step back in\u2026"));
          reloadForGame();
          return;
        }
        var entry = replyTo ? outbox.get(replyTo) : null;
        var retry = frame.code === "server_busy" && entry ? entry.line.querySelector(".said").textContent : null;
        errorLine(str(frame.text, "Something went amiss."), retry);
        break;
      default:
        debug("unknown frame type ignored", type);
        return;
    }

    if (FINAL_TYPES[type] && replyTo !== null && replyTo !== undefined) {
      var done = outbox.get(replyTo);
      if (done) {
        markLine(done.line, "done");
        outbox.delete(replyTo);
      }
      rememberAnswered(replyTo);
      updateHook();
    }
  }

  // ------------------------------------------------------------------ connection
  var ws = null;
  var connected = false;
  var attempt = 0;
  var retryTimer = null;
  var retryAt = 0;
  var countdownTimer = null;
  var reloading = false;

  function socketOpen() {
    return !!ws && ws.readyState === 1 && connected;
  }

  function socketUrl() {
    var scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    var path = CONFIG.wsPath.charAt(0) === "/" ? CONFIG.wsPath : "/" + CONFIG.wsPath;
    return scheme + "//" + window.location.host + path;
  }

  var STATUS_TEXT = {
    connecting: "Finding the door\u2026",
    connected: "At the table",
    reconnecting: "Stepping back in\u2026",
    offline: "Out in the rain",
    reloading: "Stepping back in\u2026"
  };

  function setStatus(name, extra) {
    el.status.setAttribute("data-state", name);
    el.statusText.textContent = STATUS_TEXT[name] + (extra ? " " + extra : "");
    el.status.title = name === "connected" ? "Connected to the tavern"
      : name === "offline" ? "Offline: your lines will be sent when the connection returns"
      : "Reconnecting";
    el.reconnect.hidden = name === "connected" || name === "connecting" || name === "reloading";
    body.setAttribute("data-connection", name);
  }

  function connect() {
    if (reloading || barred) return;
    window.clearTimeout(retryTimer);
    window.clearInterval(countdownTimer);
    retryTimer = null;
    if (ws && (ws.readyState === 0 || ws.readyState === 1)) return;
    setStatus(attempt === 0 ? "connecting" : "reconnecting");
    var sock;
    try {
      sock = new WebSocket(socketUrl());
    } catch (e) {
      debug("socket failed", e);
      scheduleReconnect();
      return;
    }
    ws = sock;
    sock.addEventListener("open", function () {
      if (ws !== sock) return;
      connected = true;
      setStatus("connected");
      debug("connected");
      flushOutbox();
    });
    sock.addEventListener("message", function (ev) {
      if (ws !== sock) return;
      attempt = 0;  // the server is really talking to us: reset the back-off
      if (typeof ev.data !== "string") return;
      var frame;
      try { frame = JSON.parse(ev.data); } catch (e) { debug("bad frame", ev.data); return; }
      debug("<-", frame);
      handleFrame(frame);
    });
    sock.addEventListener("close", function (ev) {
      if (ws !== sock) return;
      ws = null;
      connected = false;
      debug("closed", ev.code, ev.reason);
      outbox.forEach(function (entry) { markLine(entry.line, "pending"); });
      updateHook();
      if (ev.code === 4001) { reloadForGame(); return; }
      if (ev.code === 4002 || barred) { showBarred(); return; }
      scheduleReconnect();
    });
    sock.addEventListener("error", function () { debug("socket error"); });
  }

  var barred = false;  // the shared tavern is closed (or never was): no knocking again
  function showBarred() {
    barred = true;
    setStatus("offline");
    el.reconnect.hidden = true;
    var line = make("p", "line narration");
    line.appendChild(document.createTextNode("The door is barred. "));
    var home = make("a", "", "Walk back to the Tankard's own common room");
    home.href = "/";
    line.appendChild(home);
    line.appendChild(document.createTextNode("."));
    appendLine(line);
  }

  function scheduleReconnect() {
    if (reloading) return;
    var base = Math.min(BACKOFF_MAX, BACKOFF_MIN * Math.pow(2, attempt));
    var delay = Math.min(BACKOFF_MAX, Math.round(base * (0.75 + Math.random() * 0.5)));
    attempt += 1;
    var offline = navigator.onLine === false || attempt > 4;
    retryAt = Date.now() + delay;
    window.clearTimeout(retryTimer);
    window.clearInterval(countdownTimer);
    retryTimer = window.setTimeout(connect, delay);
    var tick = function () {
      var secs = Math.max(0, Math.ceil((retryAt - Date.now()) / 1000));
      setStatus(offline ? "offline" : "reconnecting", offline && secs > 0 ? "\u2014 trying again in " + secs + "s" : "");
    };
    tick();
    if (offline) countdownTimer = window.setInterval(tick, 1000);
    updateHook();
  }

  function reconnectNow() {
    if (socketOpen() || reloading) return;
    attempt = 0;
    connect();
  }

  function reloadForGame() {
    if (reloading) return;
    reloading = true;
    connected = false;
    setStatus("reloading");
    if (ws) { try { ws.close(); } catch (e) { /* already closed */ } }
    ws = null;
    // Guard against a reload loop if the server keeps refusing us.
    var last = 0;
    try { last = parseInt(window.sessionStorage.getItem(RELOAD_KEY), 10) || 0; } catch (e) { /* ignore */ }
    var wait = Date.now() - last < 10000 ? 5000 : 300;
    window.setTimeout(function () {
      try { window.sessionStorage.setItem(RELOAD_KEY, String(Date.now())); } catch (e) { /* ignore */ }
      window.location.reload();
    }, wait);
  }

  el.reconnect.addEventListener("click", reconnectNow);
  window.addEventListener("online", reconnectNow);
  window.addEventListener("offline", function () {
    if (!socketOpen()) setStatus("offline");
  });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && !ws && !reloading) reconnectNow();
  });

  // ------------------------------------------------------------------ collapsible panels
  var PANEL_KEY = "tankard.panels";
  var phone = window.matchMedia ? window.matchMedia("(max-width: 700px)") : { matches: false };
  function loadPanelPrefs() {
    try { return JSON.parse(window.localStorage.getItem(PANEL_KEY) || "{}") || {}; } catch (e) { return {}; }
  }
  var panelPrefs = loadPanelPrefs();
  if (phone.matches) el.input.placeholder = "What do you do?";
  [].forEach.call(document.querySelectorAll("details.panel"), function (panel) {
    var name = panel.getAttribute("data-panel");
    var pref = panelPrefs[(phone.matches ? "phone:" : "wide:") + name];
    if (pref !== undefined) {
      panel.open = !!pref;
    } else if (phone.matches) {
      panel.open = panel.hasAttribute("data-phone-open");
    }
    panel.addEventListener("toggle", function () {
      panelPrefs[(phone.matches ? "phone:" : "wide:") + name] = panel.open;
      try { window.localStorage.setItem(PANEL_KEY, JSON.stringify(panelPrefs)); } catch (e) { /* ignore */ }
      if (name === "map" && panel.open) drawMapLines();
    });
  });

  // ------------------------------------------------------------------ test hook
  var hook = {
    send: function (text) { return submitText(text); }
  };
  Object.defineProperties(hook, {
    state: { enumerable: true, get: function () { return state; } },
    connected: { enumerable: true, get: function () { return socketOpen(); } },
    pending: { enumerable: true, get: function () { return outbox.size; } },
    players: { enumerable: true, get: function () { return roomPlayers.slice(); } },
    gameId: { enumerable: true, get: function () { return CONFIG.gameId; } }
  });
  function updateHook() {
    body.setAttribute("data-pending", String(outbox.size));
  }
  window.tankard = hook;

  // ------------------------------------------------------------------ go
  updateHook();
  connect();
})();
