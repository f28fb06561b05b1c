// The notice's print button: shown only when a script can press it.
"use strict";
(function () {
  var b = document.getElementById("print");
  if (!b) return;
  b.hidden = false;
  b.addEventListener("click", function () { window.print(); });
})();
