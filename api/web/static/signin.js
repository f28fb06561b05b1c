// The page that asks before switching who is signed in was opened by a
// sign-in link: take its token out of the address bar and the history at
// once. The token stays only in the form's hidden field, for the button.
"use strict";
if (window.history && history.replaceState && location.search.indexOf("token=") >= 0) {
  var u = new URL(location.href);
  u.searchParams.delete("token");
  history.replaceState(null, "", u.pathname + u.search + u.hash);
}
