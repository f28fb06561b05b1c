package web

// Text is the catalogue's lookup, for the tests.
var Text = text
