package api

import (
	"embed"
	"io/fs"
	"net/http"
)

// docsVersion is the vendored Stoplight Elements (api/docs/README.md).
const docsVersion = "9.0.25"

//go:embed docs/web-components.min.js docs/styles.min.css
var docsAssets embed.FS

// docsPage is /docs: Stoplight Elements, from the binary, reading the
// document at /openapi.yaml. Nothing comes from another host, so the page
// works on a village network with no way out.
const docsPage = `<!doctype html>
<html lang="zh-CN">
  <head>
    <meta charset="utf-8">
    <meta name="referrer" content="no-referrer">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>换工 Huangong API 接口文档</title>
    <link rel="stylesheet" href="/docs/assets/styles.min.css?v=` + docsVersion + `">
    <script src="/docs/assets/web-components.min.js?v=` + docsVersion + `"></script>
  </head>
  <body style="height: 100vh;">
    <elements-api apiDescriptionUrl="/openapi.yaml" router="hash" layout="sidebar" tryItCredentialsPolicy="same-origin"></elements-api>
  </body>
</html>
`

// docsCSP allows the page only this host. Elements sets inline styles
// and may show images as data: URLs.
const docsCSP = "default-src 'none'; base-uri 'none'; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; " +
	"img-src 'self' data:; font-src 'self' data:; script-src 'self'; style-src 'self' 'unsafe-inline'"

// addDocs serves /docs and its two assets.
func (s *Server) addDocs() {
	s.mux.HandleFunc("GET /docs", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Security-Policy", docsCSP)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(docsPage))
	})
	dir, err := fs.Sub(docsAssets, "docs")
	if err != nil {
		panic(err) // the embed pattern names the folder
	}
	assets := http.StripPrefix("/docs/assets/", http.FileServerFS(dir))
	s.mux.Handle("GET /docs/assets/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The version is in the page's links: a cached copy is never stale.
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		assets.ServeHTTP(w, r)
	}))
}
