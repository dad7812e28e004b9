//! A national map of cyber defence services after ITU-T X.1060 (issue 21): who carries which
//! of the Recommendation's service categories and services, where the gaps are, how
//! concentrated each category is, how public and private sectors share the work, and two
//! countries side by side.
//!
//! A pure library: it parses the bytes it is given and computes. The store keeps its JSON
//! documents (`firewatch_store::AssessmentStore`), the CLI (`firewatch assess ...`) converts
//! and shows them; the web pages come next.
//!
//! - [`Catalogue`]: the nine categories and the services known by id and short name, embedded
//!   from `data/x1060/` (facts only: 27 of the 64 ids and names, from ITU's public table of
//!   contents and JPCERT/CC's slides, see `docs/x1060.md`); [`Catalogue::import`] brings the
//!   full catalogue a user is entitled to.
//! - [`Assessment`]: per country or organisation, per [`StakeholderKind`] and per service or
//!   category, a [`Score`] 0–10 now (or no part), a target, in-house or outsourced, and who
//!   assessed it when from what. [`Assessment::import`] reads JPCERT/CC's matrix CSV as it is,
//!   a one-cell-a-line CSV and JSON, all or nothing, every refusal placed on its line.
//! - [`views`]: [`heatmap`], [`gaps`], [`concentration`] (top share and Herfindahl–Hirschman
//!   index), [`split`] (public/private) and [`compare`]; [`svg`] draws the heatmaps.
//! - [`first`]: the FIRST CSIRT Services Framework 2.1 (5 areas, 21 services, 76 functions) by
//!   id and name, embedded from MISP's galaxy (CC0); [`Framework::import`] reads the galaxy
//!   JSON. [`crosswalk`]: X.1060 categories and services ↔ FIRST services as data
//!   ([`Crosswalk`], our own mapping; [`Crosswalk::import`] for yours), the [`mapping`] table
//!   and [`crosswalk_view`], an assessment read FIRST service by FIRST service.
//!
//! ```
//! use firewatch_assess::{About, Assessment, AssessmentFormat, Catalogue, Granularity};
//!
//! let catalogue = Catalogue::builtin();
//! let matrix = "category,category_name,NCSC,LE/Justice\nH,Support of internal fraud response,,10\n";
//! let about = About { scope: "US".into(), ..About::default() };
//! let us = Assessment::import(matrix, AssessmentFormat::Matrix, &catalogue, &about)?;
//! let map = firewatch_assess::heatmap(&us, &catalogue, Granularity::Categories);
//! let h = &firewatch_assess::concentration(&map)[7];
//! assert_eq!(h.hhi, Some(1.0)); // law enforcement alone
//! let svg = firewatch_assess::svg::heatmap_svg(&map);
//! assert!(svg.contains("url(#no-part)"));
//! # Ok::<(), firewatch_assess::AssessError>(())
//! ```

pub mod assessment;
pub mod catalogue;
pub mod crosswalk;
pub mod error;
pub mod first;
pub mod import;
pub mod kind;
pub mod svg;
pub mod views;

pub use assessment::{About, Assessment, Cell, Delivery, Granularity, Score};
pub use catalogue::{
    BUILTIN_VERSION, Catalogue, CatalogueFormat, Category, Item, Service, ServiceId,
};
pub use crosswalk::{
    CROSSWALK_BUILTIN_VERSION, Coverage, Crosswalk, CrosswalkView, FirstRow, KindScore, Link,
    MappedItem, Mapping, MappingRow, Relation, crosswalk_view, mapping,
};
pub use error::{AssessError, Place};
pub use first::{Area, FIRST_BUILTIN_VERSION, FirstService, Framework, Function};
pub use import::AssessmentFormat;
pub use kind::{Sector, StakeholderKind};
pub use views::{
    Comparison, Concentration, DiffCell, Gap, GapOptions, GapStatus, HeatCell, Heatmap, Row,
    SectorShares, Split, SplitRow, compare, concentration, gaps, heatmap, split,
};
