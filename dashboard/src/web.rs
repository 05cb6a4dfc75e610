//! The dispatch wall's web page and its assets, embedded in the binary at build time
//! (`build.rs` copies the page and the pinned map library into `OUT_DIR`): `GET /wall`
//! is the page, `GET /assets/{*path}` its scripts, styles and images. Every response
//! carries an ETag and `Cache-Control: no-cache`, so browsers revalidate (a 304 when
//! nothing changed) and pick up a new build at once; the page also gets a
//! Content-Security-Policy that allows scripts, styles and connections from this origin
//! only (map tiles may come from the configured tile server).

use axum::extract::Path;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// One embedded file.
pub struct Asset {
    /// Path under `/assets/` (the page itself is `wall.html`).
    pub path: &'static str,
    pub content_type: &'static str,
    /// Quoted, as sent in the `ETag` header.
    pub etag: &'static str,
    pub bytes: &'static [u8],
}

mod embedded {
    use super::Asset;
    include!(concat!(env!("OUT_DIR"), "/web_assets.rs"));
}

const PAGE: &str = "wall.html";

/// The wall's page. Tiles are images from the operator's tile server, so images may
/// come from anywhere; everything else from this origin only.
const PAGE_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data: blob: https: http:; connect-src 'self'; font-src 'self'; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// `GET /wall` and `GET /assets/{*path}`.
pub fn routes() -> Router<crate::AppState> {
    Router::new()
        .route("/wall", get(page))
        .route("/assets/{*path}", get(asset))
}

/// The embedded file served at `/assets/{path}`, if any.
pub fn find(path: &str) -> Option<&'static Asset> {
    embedded::ASSETS.iter().find(|a| a.path == path)
}

async fn page(headers: HeaderMap) -> Response {
    let page = find(PAGE).expect("build.rs embeds the page");
    let mut resp = serve(page, &headers);
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PAGE_CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    resp
}

async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    match find(&path) {
        Some(a) if a.path != PAGE => serve(a, &headers),
        _ => (
            StatusCode::NOT_FOUND,
            axum::Json(serde_json::json!({ "error": format!("no asset {path}") })),
        )
            .into_response(),
    }
}

fn serve(a: &'static Asset, headers: &HeaderMap) -> Response {
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == a.etag || t.trim() == "*"));
    let common = [
        (header::ETAG, HeaderValue::from_static(a.etag)),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
    ];
    if fresh {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    (
        common,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(a.content_type),
        )],
        a.bytes,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_and_the_map_library_are_embedded_with_their_types() {
        let page = find("wall.html").unwrap();
        assert!(page.content_type.starts_with("text/html"));
        let html = std::str::from_utf8(page.bytes).unwrap();
        // Everything the page loads is embedded: nothing comes from elsewhere.
        for src in [
            "/assets/leaflet/leaflet.js",
            "/assets/leaflet/leaflet.css",
            "/assets/wall.js",
            "/assets/wall.css",
        ] {
            assert!(html.contains(src), "{src}");
            assert!(
                find(src.strip_prefix("/assets/").unwrap()).is_some(),
                "{src}"
            );
        }
        assert!(
            !html.contains("://"),
            "the page loads nothing from another origin"
        );
        assert!(find("wall.js")
            .unwrap()
            .content_type
            .starts_with("text/javascript"));
        assert_eq!(
            find("leaflet/images/layers.png").unwrap().content_type,
            "image/png"
        );
        assert!(find("leaflet/leaflet.js").unwrap().bytes.len() > 100_000);
        let etags: std::collections::HashSet<_> = embedded::ASSETS.iter().map(|a| a.etag).collect();
        assert_eq!(etags.len(), embedded::ASSETS.len(), "ETags differ per file");
    }
}
