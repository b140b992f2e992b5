// Injected before the page's own script by the browser tests: records every change of an NPC's
// words in the log, with the time, so a test can tell a reply that streams in from one that
// lands whole. window.__speech = [{n: line index, t: ms, text}, ...]
(function () {
  window.__speech = [];
  function watch() {
    var log = document.getElementById("log");
    if (!log) return;
    var lines = [];
    new MutationObserver(function () {
      var speeches = log.querySelectorAll(".line.npc .speech");
      for (var i = 0; i < speeches.length; i++) {
        var line = speeches[i];
        var n = lines.indexOf(line);
        if (n === -1) { lines.push(line); n = lines.length - 1; line.__last = null; }
        var text = line.textContent;
        if (text !== line.__last) {
          line.__last = text;
          window.__speech.push({ n: n, t: performance.now(), text: text });
        }
      }
    }).observe(log, { childList: true, subtree: true, characterData: true });
  }
  document.addEventListener("DOMContentLoaded", watch);
})();
