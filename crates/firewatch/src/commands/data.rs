//! `firewatch data`: the registry data behind attribution, replaced atomically.
//!
//! Datasets live beside the store, in `<store>-geo/<name>/`, and the file `<store>-geo/current`
//! names the one in force. `data update` builds and checks the new dataset completely, copies
//! its files into a fresh folder, and only then renames a new `current` over the old one, so a
//! reader sees either the old dataset or the new one, never a mix. Running ingests look for a
//! new `current` between inputs and switch to it; lookups in flight finish on the old one.

use super::Env;
use crate::cli::DataCommand;
use anyhow::{Context, Result, bail};
use firewatch_enrich::geo::{GeoBuilder, GeoData};
use std::path::PathBuf;
use std::process::ExitCode;

/// The folder of datasets for this store.
fn datasets_dir(env: &Env) -> PathBuf {
    let mut name = env
        .db
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push("-geo");
    env.db.with_file_name(name)
}

/// The name of the dataset in force, if `data update` was ever run.
pub fn current_dataset(env: &Env) -> Result<Option<String>> {
    let pointer = datasets_dir(env).join("current");
    match std::fs::read_to_string(&pointer) {
        Ok(name) => Ok(Some(name.trim().to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", pointer.display())),
    }
}

/// Builds a dataset from files. Country comes from the files when they carry it (RIR
/// delegated statistics, MMDB); otherwise from the embedded RIR data.
fn build(files: &[PathBuf]) -> Result<GeoData> {
    let mut builder = GeoBuilder::new();
    let brings_countries = files.iter().any(|f| {
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        name.ends_with(".mmdb") || name.contains("delegated")
    });
    if !brings_countries {
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
pub fn load_geo(env: &Env) -> Result<GeoData> {
    let Some(name) = current_dataset(env)? else {
        return Ok(GeoData::embedded()?);
    };
    let dir = datasets_dir(env).join(&name);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| format!("cannot read dataset {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    build(&files)
}

fn install(env: &Env, files: &[PathBuf], name: &str) -> Result<()> {
    let root = datasets_dir(env);
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

pub fn run(env: &Env, cmd: &DataCommand) -> Result<ExitCode> {
    match cmd {
        DataCommand::Update { files } => {
            if files.is_empty() {
                bail!("name at least one data file");
            }
            let geo = build(files)?;
            for p in geo.problems().iter().take(20) {
                eprintln!("{p}");
            }
            let (v4, v6) = geo.table().segment_counts();
            let name = blake3::hash(geo.version().as_bytes()).to_hex()[..16].to_string();
            install(env, files, &name)?;
            println!(
                "dataset {} is now in force ({v4} IPv4 and {v6} IPv6 ranges, {} bad lines skipped)",
                geo.version(),
                geo.bad_lines()
            );
            Ok(if geo.bad_lines() > 0 {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        DataCommand::Show { json } => {
            let geo = load_geo(env)?;
            let (v4, v6) = geo.table().segment_counts();
            let info = serde_json::json!({
                "version": geo.version(),
                "installed": current_dataset(env)?,
                "ipv4_ranges": v4,
                "ipv6_ranges": v6,
                "memory_bytes": geo.memory_bytes(),
                "attribution": "IP to ASN data: RouteViews (routeviews.org), DB-IP (db-ip.com), NRO (nro.net), CC BY 4.0; country: the five RIRs' delegated statistics",
            });
            if *json {
                crate::output::json(&info)?;
            } else {
                println!("dataset   {}", geo.version());
                println!(
                    "ranges    {v4} IPv4, {v6} IPv6 ({} MiB in memory)",
                    geo.memory_bytes() >> 20
                );
                println!(
                    "credits   {}",
                    info["attribution"].as_str().unwrap_or_default()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// True when `data update` installed a dataset other than `loaded`.
pub fn dataset_changed(env: &Env, loaded: &Option<String>) -> bool {
    current_dataset(env)
        .map(|now| &now != loaded)
        .unwrap_or(false)
}
