// Live overview: the server re-renders the live block on every sample and sends it over
// server-sent events; this only swaps it in. Without JavaScript the page is a snapshot.
(function () {
  "use strict";
  var target = document.getElementById("live");
  if (!target || !window.EventSource) { return; }
  var source = new EventSource("/console/stream");
  source.addEventListener("overview", function (event) {
    target.innerHTML = event.data;
    target.setAttribute("data-updated", String(Date.now()));
  });
})();
