package statusextension

import (
	"embed"
	"io/fs"
	"net/http"
)

// web holds the status page: one HTML document, one script, one style sheet, an icon, no external
// assets, so it works offline and under the strict policy below.
//
//go:embed web/index.html web/app.js web/app.css web/favicon.svg
var web embed.FS

// pageCSP lets the page load only its own script and style, and talk only to its own server.
const pageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

func (e *statusExtension) pageRoutes() {
	files, _ := fs.Sub(web, "web")
	assets := http.FileServerFS(files)
	secure := func(h http.Handler) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			hd := w.Header()
			hd.Set("Content-Security-Policy", pageCSP)
			hd.Set("X-Content-Type-Options", "nosniff")
			hd.Set("Referrer-Policy", "no-referrer")
			hd.Set("Cache-Control", "no-cache")
			h.ServeHTTP(w, r)
		}
	}
	e.mux.HandleFunc("GET /{$}", secure(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, files, "index.html")
	})))
	e.mux.Handle("GET /ui/app.js", secure(http.StripPrefix("/ui", assets)))
	e.mux.Handle("GET /ui/app.css", secure(http.StripPrefix("/ui", assets)))
	e.mux.Handle("GET /ui/favicon.svg", secure(http.StripPrefix("/ui", assets)))
}
