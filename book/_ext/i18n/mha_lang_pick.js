// The root page of the two-edition site (book/_ext/i18n/index.html): open the edition of the
// reader's first preferred language that the site has, English when none matches. Relative
// URLs only, so the site works from any folder of any static host, offline.
(function () {
  "use strict";
  var editions = ["en", "ja"];
  var preferred = navigator.languages && navigator.languages.length
    ? navigator.languages
    : [navigator.language || "en"];
  var pick = "en";
  for (var i = 0; i < preferred.length; i++) {
    var primary = String(preferred[i]).toLowerCase().split("-")[0];
    if (editions.indexOf(primary) !== -1) {
      pick = primary;
      break;
    }
  }
  window.location.replace(pick + "/index.html");
})();
