//! The registry data behind attribution (IP → country, ASN, AS name), replaced atomically.
//!
//! Datasets live beside the store, in `<store>-geo/<name>/`, and the file `<store>-geo/current`
//! names the one in force. `data update` builds and checks the new dataset completely, copies
//! its files into a fresh folder, and only then renames a new `current` over the old one, so a
//! reader sees either the old dataset or the new one, never a mix. Running ingests look for a
//! new `current` between inputs and switch to it; lookups in flight finish on the old one.

use anyhow::{Context as _, Result};
use firewatch_enrich::geo::{GeoBuilder, GeoData};
use std::path::{Path, PathBuf};

/// The folder of datasets for this store.
fn datasets_dir(db: &Path) -> PathBuf {
    let mut name = db.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push("-geo");
    db.with_file_name(name)
}

/// The name of the dataset in force, if `data update` was ever run.
pub fn current_dataset(db: &Path) -> Result<Option<String>> {
    let pointer = datasets_dir(db).join("current");
    match std::fs::read_to_string(&pointer) {
        Ok(name) => Ok(Some(name.trim().to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", pointer.display())),
    }
}

/// Whether `files` carry countries themselves (RIR delegated statistics, MMDB).
fn brings_countries(files: &[PathBuf]) -> bool {
    files.iter().any(|f| {
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        name.ends_with(".mmdb") || name.contains("delegated")
    })
}

/// Builds a dataset from files. Country comes from the files when they carry it (RIR
/// delegated statistics, MMDB); otherwise from the embedded RIR data.
pub fn build(files: &[PathBuf]) -> Result<GeoData> {
    let mut builder = GeoBuilder::new();
    if !brings_countries(files) {
        builder.iptocc_countries();
    }
    for f in files {
        builder
            .add_file(f)
            .with_context(|| format!("cannot load {}", f.display()))?;
    }
    Ok(builder.build())
}

/// The dataset in force: the one `data update` installed, else the embedded one.
pub fn load_geo(db: &Path) -> Result<GeoData> {
    let Some(name) = current_dataset(db)? else {
        return Ok(GeoData::embedded()?);
    };
    let dir = datasets_dir(db).join(&name);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| format!("cannot read dataset {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    build(&files)
}

/// Whether a dataset built from files can stand in for the one in force: some range carries an
/// ASN, or the files brought countries of their own (RIR statistics, MMDB) and some range has
/// one. A dataset built from an empty or all-bad file would drop every attribution.
pub fn usable(geo: &GeoData, files: &[PathBuf]) -> bool {
    let has = |v| {
        let a = geo.attribution(v);
        a.asn.is_some() || (brings_countries(files) && a.country.is_some())
    };
    geo.table().segments_v4().any(|(_, _, v)| has(v))
        || geo.table().segments_v6().any(|(_, _, v)| has(v))
}

/// Puts the dataset built from `files` in force under `name` (see the module doc).
pub fn install(db: &Path, files: &[PathBuf], name: &str) -> Result<()> {
    let root = datasets_dir(db);
    let target = root.join(name);
    if !target.exists() {
        let staging = root.join(format!("{name}.partial"));
        if staging.exists() {
            std::fs::remove_dir_all(&staging)?;
        }
        std::fs::create_dir_all(&staging)?;
        for f in files {
            let file_name = f
                .file_name()
                .with_context(|| format!("{} is not a file", f.display()))?;
            std::fs::copy(f, staging.join(file_name))
                .with_context(|| format!("cannot copy {}", f.display()))?;
        }
        std::fs::rename(&staging, &target)?;
    }
    let pointer = root.join("current.partial");
    std::fs::write(&pointer, name)?;
    std::fs::rename(&pointer, root.join("current"))?;
    Ok(())
}

/// True when `data update` installed a dataset other than `loaded`.
pub fn dataset_changed(db: &Path, loaded: &Option<String>) -> bool {
    current_dataset(db)
        .map(|now| &now != loaded)
        .unwrap_or(false)
}
