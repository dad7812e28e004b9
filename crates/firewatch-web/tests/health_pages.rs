//! The public Internet-health page (`/public/health`) in process (tower `oneshot`): it shows
//! the published figures as a map, lines and a ranking, and nothing under the suppression
//! threshold — not even a row that reached the published table by some other way.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use firewatch_store::HealthStore;
use firewatch_store::SqliteStore;
use firewatch_store::health::{HealthMeta, HealthPublicRecord, HealthSnapshot};
use firewatch_web::WebConfig;
use http_body_util::BodyExt;
use tower::ServiceExt;

/// 2026-01-05 (a Monday) as days since 1970-01-01.
const MON: i64 = 20_458;

fn row(day: i64, scope: &str, key: &str, risk: &str, n: u64, rank: u32) -> HealthPublicRecord {
    HealthPublicRecord {
        day,
        scope: scope.into(),
        key: key.into(),
        risk: risk.into(),
        unique_ips: n,
        announced_ipv4: Some(2_000_000),
        per_million_addresses: Some(n as f64 / 2.0),
        ddos_potential_gbps: Some(n as f64 * 0.041),
        trend_index: Some(100.0),
        rank,
    }
}

fn meta() -> HealthMeta {
    HealthMeta {
        computed_at: 1_767_600_000,
        suppression_threshold: 10,
        base_week: Some("2026-01-05".into()),
        release_all_tlp: false,
        data_version: "test".into(),
        bandwidth_per_device_mbps: 1.0,
        dns_amplification: 41.0,
    }
}

fn app(db: &std::path::Path) -> axum::Router {
    let config = WebConfig {
        secure_cookies: false,
        ..WebConfig::default()
    };
    firewatch_web::router(firewatch_web::AppState::new(db.to_path_buf(), &config).unwrap())
}

async fn get(app: &axum::Router, uri: &str) -> (StatusCode, String) {
    let response = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

/// The text of the ranking table's body.
fn ranking(page: &str) -> &str {
    let start = page.find("health-ranking").expect("a ranking table");
    let end = page[start..].find("</table>").expect("the table ends") + start;
    &page[start..end]
}

#[tokio::test]
async fn the_page_shows_published_figures_and_nothing_under_the_threshold() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("firewatch.db");
    let mut store = SqliteStore::open(&db).unwrap();
    let app = app(&db);

    let (status, page) = get(&app, "/public/health").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("No metrics have been published yet"),
        "{page}"
    );

    store
        .commit_health(&HealthSnapshot {
            days: (MON, MON + 7),
            cells: Vec::new(),
            address_space: Vec::new(),
            public: vec![
                row(MON, "country", "JP", "open-dns", 12, 1),
                row(MON + 7, "country", "JP", "open-dns", 24, 1),
                row(MON + 7, "country", "BR", "open-dns", 11, 2),
                // Under the threshold of 10: planted as if a bug had published it.
                row(MON + 7, "country", "DE", "open-dns", 3, 3),
                row(MON + 7, "asn", "2497", "open-dns", 24, 1),
                row(MON + 7, "asn", "3320", "open-dns", 9, 2),
                row(MON + 7, "country", "US", "open-ntp", 40, 1),
            ],
            meta: meta(),
        })
        .unwrap();

    let (status, page) = get(&app, "/public/health").await;
    assert_eq!(status, StatusCode::OK);
    let table = ranking(&page);
    // The latest day's ranking: JP 24, BR 11; never DE's 3.
    assert!(table.contains(">JP<") && table.contains(">24<"), "{table}");
    assert!(table.contains(">BR<") && table.contains(">11<"), "{table}");
    assert!(
        !table.contains(">DE<"),
        "a cell under the threshold is shown: {table}"
    );
    assert!(!page.contains("data-key=\"DE\""), "DE drawn in the chart");
    // Open DNS is the default risk: the NTP row is not in this view.
    assert!(!table.contains(">US<"), "{table}");
    // The map colours JP (the largest) darkest and leaves DE grey: its count is not published.
    assert!(page.contains("data-cc=\"JP\""));
    let de = page
        .split("<path ")
        .find(|p| p.contains("data-cc=\"DE\""))
        .expect("Germany's shape");
    assert!(de.contains("#e5e5e5"), "{de}");
    assert!(de.contains("Germany: 0"), "{de}");
    // JP's line has both days.
    assert!(page.contains("data-key=\"JP\""));
    assert!(page.contains("2026-01-05") && page.contains("2026-01-12"));
    // The registry data's credits (CC BY 4.0).
    assert!(page.contains("routeviews.org") && page.contains("https://db-ip.com"));

    let (_, page) = get(&app, "/public/health?by=asn&risk=open-dns").await;
    let table = ranking(&page);
    assert!(table.contains("AS2497"), "{table}");
    assert!(
        !table.contains("AS3320"),
        "9 hosts are under the threshold: {table}"
    );

    let (_, page) = get(&app, "/public/health?risk=open-ntp").await;
    assert!(ranking(&page).contains(">US<"));

    let (status, _) = get(&app, "/public/health?by=planet").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = get(&app, "/public/health?risk=%3Cscript%3E").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // The public statistics page links here.
    let (_, public) = get(&app, "/public").await;
    assert!(public.contains("href=\"/public/health\""));
}
