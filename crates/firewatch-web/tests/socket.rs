//! Over a real socket: health, a token-authenticated events call, 401 on a revoked token.

mod common;

use common::Fixture;
use firewatch_store::{IdentityStore, SqliteStore};
use firewatch_web::WebConfig;

fn call(url: &str, token: Option<&str>) -> (u16, serde_json::Value) {
    let mut req = ureq::get(url).config().http_status_as_error(false).build();
    if let Some(t) = token {
        req = req.header("Authorization", &format!("Bearer {t}"));
    }
    let mut response = req.call().unwrap();
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap();
    (status, serde_json::from_str(&text).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn served_over_loopback() {
    let fx = Fixture::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(firewatch_web::serve(
        listener,
        fx.app(&WebConfig::default()),
        async {
            let _ = stopped.await;
        },
    ));
    let token = fx.token("c-member").unwrap().to_owned();
    let db = fx.db.clone();
    tokio::task::spawn_blocking(move || {
        let (status, body) = call(&format!("{base}/healthz"), None);
        assert_eq!((status, body["status"].as_str()), (200, Some("ok")));

        let (status, body) = call(
            &format!("{base}/api/v1/events?where=tlp%20%3D%20RED"),
            Some(&token),
        );
        assert_eq!(status, 200, "{body}");
        let items = body["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{body}");
        assert_eq!(
            items[0]["event"]["extra.recipients"],
            serde_json::json!(["c"])
        );

        let (status, _) = call(&format!("{base}/api/v1/events"), None);
        assert_eq!(status, 200);

        let id = firewatch_web::auth::parse_token(&token)
            .unwrap()
            .0
            .to_owned();
        let mut store = SqliteStore::open(&db).unwrap();
        assert!(store.revoke_token(&id).unwrap());
        let (status, body) = call(&format!("{base}/api/v1/events"), Some(&token));
        assert_eq!(status, 401);
        assert!(body["error"].is_string());
    })
    .await
    .unwrap();
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}
