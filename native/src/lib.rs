//! The screening core's per-entry work, compiled.
//!
//! `screening/engine.py` and `screening/rules.py` are the definition of every rule; this
//! module decides the same thing for the same inputs, faster, and is used by
//! `Screener.screen` when it is installed. What is decided once per IOR (classification,
//! risk tier, the IOR rules, beneficial-owner matches) and once per rule-pack segment and
//! entry category (which rules can fire) stays in Python and is asked for on a cache miss:
//! only the per-entry rules, the reasons and the decision object are built here.
//!
//! Equality with the Python core is not assumed, it is tested: `tests/unit/test_native_core.py`
//! screens generated feeds and property-generated entries through both and compares the
//! decisions and their encodings byte for byte. Arithmetic follows Python's exactly (the
//! same IEEE operations in the same order, Python's float floor division, `x or 0.0`),
//! and every text is formatted the way the f-strings in `rules.py` format it.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::sync::Arc;

mod activity;
mod ahead;
mod decode;
mod fetched;
mod filing;
mod json;
mod records;
mod run;

use crate::filing::Filing;

use blake2::digest::{Update, VariableOutput};
use blake2::Blake2bVar;
use pyo3::exceptions::PyValueError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{
    PyBytes, PyDateAccess, PyDateTime, PyDelta, PyDeltaAccess, PyDict, PyString, PyTimeAccess,
    PyTuple, PyTzInfoAccess,
};
use rustc_hash::FxHashMap;

/// The rule ids in catalogue order; the Python loader refuses the module when they differ
/// from `screening.rulepack.RULE_IDS`.
const RULE_IDS: [&str; 19] = [
    "IOR-UNREGISTERED",
    "IOR-INACTIVE",
    "IOR-VOIDED",
    "IOR-STANDING",
    "IOR-DISCLOSURE",
    "IOR-ASSETS",
    "BOND-SUFFICIENCY",
    "FOREIGN-INFORMAL",
    "FOREIGN-CONTINUOUS-BOND",
    "FOREIGN-CTPAT",
    "FOREIGN-INBOND",
    "FOREIGN-ADCVD",
    "EXPORT-DOCS",
    "SUPPLY-CHAIN-CERT",
    "INFORMAL-VALUE",
    "DE-MINIMIS-SUSPENDED",
    "WATCHLIST-MATCH",
    "STRAW-IOR",
    "RISK-TIER-EXAM",
];
const IOR_UNREGISTERED: usize = 0;
const BOND_SUFFICIENCY: usize = 6;
const FOREIGN_INFORMAL: usize = 7;
const FOREIGN_CONTINUOUS_BOND: usize = 8;
const FOREIGN_CTPAT: usize = 9;
const FOREIGN_INBOND: usize = 10;
const FOREIGN_ADCVD: usize = 11;
const EXPORT_DOCS: usize = 12;
const SUPPLY_CHAIN_CERT: usize = 13;
const INFORMAL_VALUE: usize = 14;
const DE_MINIMIS_SUSPENDED: usize = 15;
const WATCHLIST_MATCH: usize = 16;
const STRAW_IOR: usize = 17;
const RISK_TIER_EXAM: usize = 18;

const WINDOW_DAYS: i64 = 30;
const HIGH_RISK_TIER: i64 = 4;
// Bounds of the caches, as in the Python core.
const PROFILE_CACHE_LIMIT: usize = 100_000;
const WATCHLIST_MEMO_LIMIT: usize = 200_000;

fn rule_index(rule_id: &str) -> PyResult<usize> {
    RULE_IDS
        .iter()
        .position(|id| *id == rule_id)
        .ok_or_else(|| PyValueError::new_err(format!("the native core has no rule {rule_id}")))
}

// --- Python's number formatting and arithmetic ------------------------------------------------

/// `f"${amount:,.0f}"`: rounded half to even on the exact binary value (Rust's and Python's
/// fixed-precision formatting are both exact), then thousands separators.
fn usd(amount: f64) -> String {
    let plain = format!("{amount:.0}");
    let (sign, digits) = match plain.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", plain.as_str()),
    };
    let mut out = String::with_capacity(plain.len() + plain.len() / 3 + 2);
    out.push('$');
    out.push_str(sign);
    let lead = digits.len() % 3;
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (i + 3 - lead) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Python's `x // y` for floats (CPython's float_floor_div), which is not always
/// `floor(x / y)`.
fn py_floor_div(vx: f64, wx: f64) -> f64 {
    let mut m = vx % wx;
    let mut div = (vx - m) / wx;
    if m != 0.0 && (wx < 0.0) != (m < 0.0) {
        m += wx;
        div -= 1.0;
    }
    let _ = m;
    if div != 0.0 {
        let mut floordiv = div.floor();
        if div - floordiv > 0.5 {
            floordiv += 1.0;
        }
        floordiv
    } else {
        (0.0_f64).copysign(vx / wx)
    }
}

/// Python's `value or 0.0` for an optional float: None and zero (either sign) give 0.0.
fn or_zero(value: Option<f64>) -> f64 {
    match value {
        Some(x) if x != 0.0 => x,
        _ => 0.0,
    }
}

// --- reading Python objects ---------------------------------------------------------------------

fn str_set(value: &Bound<'_, PyAny>) -> PyResult<HashSet<String>> {
    let mut out = HashSet::new();
    for item in value.try_iter()? {
        out.insert(item?.extract::<String>()?);
    }
    Ok(out)
}

// --- the pack, compiled -----------------------------------------------------------------------

struct RuleInfo {
    // JSON fragments written into every hit: the quoted id, outcome and citation, and the
    // cure escaped (it ends the reason).
    rule_id_json: Vec<u8>,
    outcome_json: Vec<u8>,
    citation_json: Vec<u8>,
    cure_json: Vec<u8>,
    rule_id: Py<PyString>,
    outcome: Py<PyString>,
    citation: Py<PyString>,
    cure: String,
    severity: usize,
}

struct Params {
    bond_exempt: HashSet<String>,
    pga_value_multiple: f64,
    pga_basis: String,
    foreign_informal_types: HashSet<String>,
    ctpat_min_tier: i64,
    foreign_inbond_types: HashSet<String>,
    adcvd_entry_types: HashSet<String>,
    deposit_risk_rate: f64,
    deposit_risk_text: String,
    export_docs_exempt: HashSet<String>,
    supply_chain_exempt: HashSet<String>,
    informal_types: HashSet<String>,
    informal_limit: f64,
    informal_limit_text: String,
    formal_only_prefixes: HashSet<String>,
    de_minimis_types: HashSet<String>,
    watchlist_lists: Py<PyAny>,
    watchlist_same_country: Py<PyAny>,
    straw_recent_days: i64,
    straw_volume_multiple: f64,
    straw_min_entries: i64,
    straw_fda_codes: HashSet<String>,
    exam_rate: f64,
}

/// What can be worked out for a decision from its filing alone, ahead of the screening
/// (`ahead.rs`): its id (for the filing's first screening, under the pack version the
/// batch's decode-ahead was given) and its entered value's JSON (None where
/// `json::format_float` leaves it to orjson).
pub(crate) struct Prepared {
    pub id: String,
    pub entered_value: Option<String>,
    /// The names no entity list can match: bit i for line i's manufacturer, bit 63 for the
    /// shipper (`NameForms::unlisted_names`); the entity-list rule skips them.
    pub unlisted: u64,
}

impl Prepared {
    pub fn of(filing: &Filing<'_>, version: &str, names: &NameForms) -> Self {
        Prepared {
            id: decision_id(&filing.entry_number, filing.revision as i64, version, ""),
            entered_value: json::format_float(filing.entered_value_usd),
            unlisted: names.unlisted_names(filing),
        }
    }
}

/// How `screening.watchlist` normalises names, and the normal forms its index lists (a
/// snapshot: the index is built once, and new entity lists make a new screener). Shared
/// with the decode-ahead thread, which marks the names a filing's lines and shipper carry
/// that no list can match (`Prepared::unlisted`).
pub(crate) struct NameForms {
    legal_form_words: HashSet<String>,
    romanisations: FxHashMap<String, String>,
    /// The normal forms with at least one list entry; None without entity lists.
    listed: Option<HashSet<String>>,
}

/// `Prepared::unlisted`'s bit for the shipper (lines take bits 0 to 62).
const SHIPPER_UNLISTED: u64 = 1 << 63;

impl NameForms {
    /// The two normal forms `screening.watchlist` indexes names under (words sorted; words
    /// run together), for an ASCII name; None for any other (the Python index decides).
    fn keys(&self, name: &str) -> Option<(String, String)> {
        if !name.is_ascii() {
            return None;
        }
        let upper = name.to_ascii_uppercase().replace('&', " AND ");
        let mut words: Vec<&str> = Vec::new();
        for word in upper.split(|c: char| !c.is_ascii_alphanumeric()) {
            if word.is_empty() || self.legal_form_words.contains(word) {
                continue;
            }
            words.push(self.romanisations.get(word).map_or(word, String::as_str));
        }
        let compact = format!("#{}", words.concat());
        words.sort_unstable();
        words.dedup();
        Some((words.join(" "), compact))
    }

    /// Whether no list entry can match the name: neither normal form is listed.
    fn unlisted(&self, name: &str) -> bool {
        match (&self.listed, self.keys(name)) {
            (Some(listed), Some((sorted, compact))) => {
                !listed.contains(&sorted) && !listed.contains(&compact)
            }
            _ => false,
        }
    }

    /// The bits of `Prepared::unlisted` for a filing.
    fn unlisted_names(&self, filing: &Filing<'_>) -> u64 {
        let mut bits = 0;
        if self.listed.is_none() {
            return bits;
        }
        for (i, line) in filing.lines.iter().enumerate().take(63) {
            if line
                .manufacturer_name
                .as_deref()
                .is_some_and(|name| self.unlisted(name))
            {
                bits |= 1 << i;
            }
        }
        if filing
            .shipper_name
            .as_deref()
            .is_some_and(|name| self.unlisted(name))
        {
            bits |= SHIPPER_UNLISTED;
        }
        bits
    }
}

/// What the engine derives once per IOR record (`IorProfile`), with the few record fields
/// the entry rules read.
struct Profile {
    ior: Py<PyAny>,
    registered: bool,
    shown_ior_number: String,
    shown_ior_number_obj: Py<PyAny>,
    ior_number: Option<Py<PyAny>>,
    category: Py<PyAny>,
    // The IOR's part of the outputs, as JSON values, written once per registry version.
    json: ProfileJson,
    is_foreign: bool,
    failed_prongs: Py<PyAny>,
    reading: Py<PyAny>,
    risk_tier: Py<PyAny>,
    risk_high: bool,
    risk_reasons: String,
    ior_facts: Vec<(usize, String)>,
    owner_matches: Vec<String>,
    required_continuous_bond: f64,
    continuous_bond_usd: Option<f64>,
    foreign_exception_granted: bool,
    ctpat_tier: i64,
    duties_paid_12m: f64,
    expected_entries_per_year: i64,
    foreign_description: String,
    registered_ts: f64,
    /// The registry digest a hold records (`IorRegistry.digest`), asked for on the first
    /// hold: a function of the record, which this profile is of (see `profile`'s identity
    /// check). Unset for an unregistered IOR, whose digest may change without a record.
    registry_digest: std::sync::OnceLock<Py<PyAny>>,
}

struct ProfileJson {
    shown_ior_number: Vec<u8>,
    category: Vec<u8>,
    failed_prongs: Vec<u8>,
    reading: Vec<u8>,
    risk_tier: Vec<u8>,
}

/// One entry and what a rule may read about it (the Python core's `Case`).
struct Case<'a, 'py> {
    py: Python<'py>,
    entry: &'a Filing<'a>,
    profile: &'a Profile,
    activity: Option<&'a Bound<'py, PyAny>>,
    at: &'a Bound<'py, PyAny>,
    at_ts: f64,
    /// `Prepared::unlisted`, when the filing was prepared (0: every name is looked up).
    unlisted: u64,
}

impl Case<'_, '_> {
    fn who(&self) -> String {
        format!("IOR {}", self.profile.shown_ior_number)
    }
}

/// One entry screened: its reasons, its outcome (an index into the outcomes, release
/// first), its decision id and both outputs' JSON.
struct Evaluated<'py> {
    profile: Arc<Profile>,
    hits: Vec<(usize, Cow<'static, str>)>,
    worst: usize,
    id: String,
    ior_hash: Bound<'py, PyAny>,
    entered_value: Bound<'py, PyAny>,
    encoded: (Vec<u8>, Vec<u8>),
}

#[pyclass(module = "screening_native")]
struct NativeScreener {
    screener: Py<PyAny>,
    version: Py<PyAny>,
    version_text: String,
    bounds: Vec<f64>,
    ior_rules_in_force: Vec<[bool; 19]>,
    rules: Vec<RuleInfo>,
    params: Params,
    outcomes: [Py<PyAny>; 3],
    brokers: FxHashMap<String, i64>,
    watchlist: Option<Py<PyAny>>,
    // name -> country ("" for none) -> matches; looked up without allocating.
    watchlist_memo: FxHashMap<String, FxHashMap<String, Py<PyTuple>>>,
    // The index's entries by normal form, and what the normal forms drop and replace
    // (screening/watchlist.py): a name with neither form listed matches nothing, known
    // without a Python call.
    names: Arc<NameForms>,
    watchlist_memo_size: usize,
    describe_match: Py<PyAny>,
    rule_hit: Py<PyAny>,
    decision: Py<PyAny>,
    hash_iors: bool,
    profiles: FxHashMap<String, Arc<Profile>>,
    // entry type -> plan per (segment, registered, foreign), as rule indexes
    plans: FxHashMap<String, Vec<Option<Arc<[usize]>>>>,
    // The zone of the last stamp read and its offset in microseconds (fixed-offset zones only).
    last_zone: Option<(Py<PyAny>, i64)>,
    fixed_offset_zones: Vec<Py<PyAny>>,
    // For the outputs' encoding: orjson (for what json.rs leaves to it) and the last
    // screening time written (one per batch, shared by its decisions).
    orjson_dumps: Py<PyAny>,
    orjson_options: Py<PyAny>,
    last_screened_at: Option<(Py<PyAny>, Vec<u8>)>,
    outcome_texts: [String; 3],
}

fn params_of<'py>(rules: &Bound<'py, PyDict>, rule_id: &str) -> PyResult<Bound<'py, PyAny>> {
    let rule = rules
        .get_item(rule_id)?
        .ok_or_else(|| PyValueError::new_err(format!("the screener has no rule {rule_id}")))?;
    rule.getattr("params")
}

fn py_format(py: Python<'_>, value: &Bound<'_, PyAny>, spec: &str) -> PyResult<String> {
    py.import("builtins")?
        .getattr("format")?
        .call1((value, spec))?
        .extract()
}

use crate::activity::days_from_civil;

/// A changelog table's values for one partition, created when it has none yet:
/// `ChangelogTable.partitions.setdefault(partition, {})`, for the native writers that put
/// values into a table's containers.
fn partition_values<'py>(
    partitions: &Bound<'py, PyDict>,
    partition: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyDict>> {
    Ok(match partitions.get_item(partition)? {
        Some(values) => values.downcast_into::<PyDict>()?,
        None => {
            let values = PyDict::new(partitions.py());
            partitions.set_item(partition, &values)?;
            values
        }
    })
}

const EXACT_MICROSECONDS: i64 = 1 << 53;

impl NativeScreener {
    /// `at.timestamp()` without the call: Python computes it as whole microseconds since
    /// the epoch divided by 10**6, and so does this. A fixed-offset zone's offset is
    /// remembered (nearly every stamp shares pydantic's one UTC object); any other zone, a
    /// naive time or a figure beyond 2**53 microseconds goes to Python.
    fn timestamp(&mut self, at: &Bound<'_, PyAny>) -> PyResult<f64> {
        let py = at.py();
        if let Ok(dt) = at.downcast::<PyDateTime>() {
            if let Some(offset_us) = self.fixed_offset(dt)? {
                let days = days_from_civil(
                    dt.get_year() as i64,
                    dt.get_month() as i64,
                    dt.get_day() as i64,
                );
                let seconds = days * 86_400
                    + dt.get_hour() as i64 * 3_600
                    + dt.get_minute() as i64 * 60
                    + dt.get_second() as i64;
                let total_us = seconds * 1_000_000 + dt.get_microsecond() as i64 - offset_us;
                if total_us.abs() < EXACT_MICROSECONDS {
                    return Ok(total_us as f64 / 1e6);
                }
            }
        }
        at.call_method0(intern!(py, "timestamp"))?.extract()
    }

    /// The offset of an aware date-time in a fixed-offset zone, in microseconds; None for
    /// a naive one or another kind of zone (its offset may change with the date).
    fn fixed_offset(&mut self, dt: &Bound<'_, PyDateTime>) -> PyResult<Option<i64>> {
        let py = dt.py();
        let Some(tz) = dt.get_tzinfo() else {
            return Ok(None);
        };
        if let Some((zone, offset)) = &self.last_zone {
            if zone.bind(py).is(&tz) {
                return Ok(Some(*offset));
            }
        }
        if !self
            .fixed_offset_zones
            .iter()
            .any(|t| tz.get_type().is(t.bind(py)))
        {
            return Ok(None);
        }
        let offset = tz.call_method1(intern!(py, "utcoffset"), (dt,))?;
        let Ok(offset) = offset.downcast::<PyDelta>() else {
            return Ok(None);
        };
        let offset_us = (offset.get_days() as i64 * 86_400 + offset.get_seconds() as i64)
            * 1_000_000
            + offset.get_microseconds() as i64;
        self.last_zone = Some((tz.into_any().unbind(), offset_us));
        Ok(Some(offset_us))
    }

    fn push_datetime(&mut self, buf: &mut Vec<u8>, at: &Bound<'_, PyAny>) -> PyResult<()> {
        if let Ok(dt) = at.downcast::<PyDateTime>() {
            if let Some(offset_us) = self.fixed_offset(dt)? {
                if let Some(text) = json::format_datetime(
                    dt.get_year(),
                    dt.get_month(),
                    dt.get_day(),
                    dt.get_hour(),
                    dt.get_minute(),
                    dt.get_second(),
                    dt.get_microsecond(),
                    offset_us,
                ) {
                    buf.push(b'"');
                    buf.extend_from_slice(text.as_bytes());
                    buf.push(b'"');
                    return Ok(());
                }
            }
        }
        self.push_with_orjson(buf, at)
    }

    fn push_with_orjson(&self, buf: &mut Vec<u8>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let py = value.py();
        let encoded =
            self.orjson_dumps
                .bind(py)
                .call1((value, None::<()>, self.orjson_options.bind(py)))?;
        buf.extend_from_slice(encoded.downcast::<PyBytes>()?.as_bytes());
        Ok(())
    }

    fn push_float(&self, buf: &mut Vec<u8>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        match json::format_float(value.extract()?) {
            Some(text) => buf.extend_from_slice(text.as_bytes()),
            None => self.push_with_orjson(buf, value)?,
        }
        Ok(())
    }

    /// What the decision says, and both outputs' JSON; the decision object is apart
    /// (`decision_object`), as the batch run needs none for most entries.
    #[allow(clippy::too_many_arguments)]
    fn evaluate<'py>(
        &mut self,
        py: Python<'py>,
        entry: &Filing<'_>,
        ior_number: &Bound<'py, PyString>,
        filed_at: &Bound<'py, PyAny>,
        ior: &Bound<'py, PyAny>,
        screened_at: &Bound<'py, PyAny>,
        as_of: &Bound<'py, PyAny>,
        activity: &Bound<'py, PyAny>,
        trigger: &Bound<'py, PyString>,
        basis: &str,
        prepared: Option<&Prepared>,
    ) -> PyResult<Evaluated<'py>> {
        let at = if as_of.is_none() {
            filed_at.clone()
        } else {
            as_of.clone()
        };
        let at_ts = self.timestamp(&at)?;
        let segment = self.bounds.partition_point(|bound| *bound <= at_ts);
        let profile = self.profile(py, ior_number, ior)?;
        let entry_type = entry.entry_type.as_ref();
        let plan = self.plan(
            py,
            segment,
            profile.registered,
            profile.is_foreign,
            entry_type,
        )?;

        let mut hits: Vec<(usize, Cow<'static, str>)> = Vec::new();
        let mut worst = 0;
        if !profile.ior_facts.is_empty() {
            let in_force = self.ior_rules_in_force[segment];
            for (rule, fact) in &profile.ior_facts {
                if in_force[*rule] {
                    hits.push((*rule, Cow::Owned(fact.clone())));
                    worst = worst.max(self.rules[*rule].severity);
                }
            }
        }
        let activity = if activity.is_none() {
            None
        } else {
            Some(activity)
        };
        let case = Case {
            py,
            entry,
            profile: &profile,
            activity,
            at: &at,
            at_ts,
            unlisted: prepared.map_or(0, |prepared| prepared.unlisted),
        };
        for &rule in plan.iter() {
            if let Some(fact) = self.check(rule, &case)? {
                hits.push((rule, Cow::Owned(fact)));
                worst = worst.max(self.rules[rule].severity);
            }
        }

        let id = match prepared {
            Some(prepared) => prepared.id.clone(),
            None => decision_id(
                entry.entry_number.as_ref(),
                entry.revision as i64,
                &self.version_text,
                basis,
            ),
        };
        let ior_hash = if self.hash_iors {
            self.screener
                .bind(py)
                .call_method1(intern!(py, "ior_hash"), (ior_number,))?
        } else {
            py.None().into_bound(py)
        };
        let entered_value = entry.entered_value_usd.into_pyobject(py)?.into_any();
        let encoded = self.write_outputs(
            entry,
            &profile,
            &hits,
            worst,
            &id,
            &ior_hash,
            &entered_value,
            filed_at,
            screened_at,
            trigger,
            prepared.and_then(|prepared| prepared.entered_value.as_deref()),
        )?;
        Ok(Evaluated {
            profile,
            hits,
            worst,
            id,
            ior_hash,
            entered_value,
            encoded,
        })
    }

    /// The `ScreeningDecision` of an evaluated entry.
    fn decision_object<'py>(
        &self,
        py: Python<'py>,
        entry: &Filing<'_>,
        evaluated: &Evaluated<'py>,
        filed_at: &Bound<'py, PyAny>,
        screened_at: &Bound<'py, PyAny>,
        trigger: &Bound<'py, PyString>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let profile = &evaluated.profile;
        let mut hit_objects = Vec::with_capacity(evaluated.hits.len());
        let mut reason = String::with_capacity(512);
        for (rule, fact) in &evaluated.hits {
            let info = &self.rules[*rule];
            reason.clear();
            reason.push_str(fact);
            reason.push(' ');
            reason.push_str(&info.cure);
            hit_objects.push(self.rule_hit.bind(py).call1((
                info.rule_id.bind(py),
                info.outcome.bind(py),
                PyString::new(py, &reason),
                info.citation.bind(py),
            ))?);
        }
        let none = py.None().into_bound(py);
        let args = PyTuple::new(
            py,
            [
                PyString::new(py, &evaluated.id).into_any(),
                PyString::new(py, entry.entry_number.as_ref()).into_any(),
                entry.revision.into_pyobject(py)?.into_any(),
                PyString::new(py, entry.entry_type.as_ref()).into_any(),
                PyString::new(py, &entry.port_code).into_any(),
                profile.shown_ior_number_obj.bind(py).clone(),
                evaluated.ior_hash.clone(),
                match &entry.broker_filer_code {
                    Some(code) => PyString::new(py, code).into_any(),
                    None => none.clone(),
                },
                evaluated.entered_value.clone(),
                self.outcomes[evaluated.worst].bind(py).clone(),
                PyTuple::new(py, hit_objects)?.into_any(),
                self.version.bind(py).clone(),
                profile.category.bind(py).clone(),
                profile.failed_prongs.bind(py).clone(),
                profile.reading.bind(py).clone(),
                profile.risk_tier.bind(py).clone(),
                filed_at.clone(),
                screened_at.clone(),
                trigger.clone().into_any(),
            ],
        )?;
        self.decision.bind(py).call1(args)
    }

    /// The decision's JSON and its audit event's, as `codec.encode(decision)` and
    /// `screened_event_bytes(decision)` write them (tests hold them byte for byte equal).
    #[allow(clippy::too_many_arguments)]
    fn write_outputs(
        &mut self,
        entry: &Filing<'_>,
        profile: &Profile,
        hits: &[(usize, Cow<'_, str>)],
        worst: usize,
        id: &str,
        ior_hash: &Bound<'_, PyAny>,
        entered_value: &Bound<'_, PyAny>,
        filed_at: &Bound<'_, PyAny>,
        screened_at: &Bound<'_, PyAny>,
        trigger: &Bound<'_, PyString>,
        entered_value_text: Option<&str>,
    ) -> PyResult<(Vec<u8>, Vec<u8>)> {
        let entry_number_text = entry.entry_number.as_ref();
        let entry_type = entry.entry_type.as_ref();
        let ior_hash_text: Option<String> = ior_hash.extract()?;
        let broker_text = entry.broker_filer_code.as_deref();
        let trigger_text = trigger.to_str()?;
        let mut out = Vec::with_capacity(2048);
        out.extend_from_slice(b"{\"decision_id\":\"");
        out.extend_from_slice(id.as_bytes());
        out.extend_from_slice(b"\",\"entry_number\":");
        json::push_str(&mut out, entry_number_text);
        json::push_key(&mut out, ",\"entry_revision");
        json::push_int(&mut out, entry.revision as i64);
        json::push_key(&mut out, ",\"entry_type");
        json::push_str(&mut out, entry_type);
        json::push_key(&mut out, ",\"port_code");
        json::push_str(&mut out, &entry.port_code);
        json::push_key(&mut out, ",\"ior_number");
        out.extend_from_slice(&profile.json.shown_ior_number);
        json::push_key(&mut out, ",\"ior_number_hash");
        json::push_opt_str(&mut out, ior_hash_text.as_deref());
        json::push_key(&mut out, ",\"broker_filer_code");
        json::push_opt_str(&mut out, broker_text);
        json::push_key(&mut out, ",\"entered_value_usd");
        match entered_value_text {
            Some(text) => out.extend_from_slice(text.as_bytes()),
            None => self.push_float(&mut out, entered_value)?,
        }
        json::push_key(&mut out, ",\"outcome");
        json::push_str(&mut out, &self.outcome_texts[worst]);
        out.extend_from_slice(b",\"hits\":[");
        for (i, (rule, reason)) in hits.iter().enumerate() {
            let info = &self.rules[*rule];
            out.extend_from_slice(if i == 0 { b"{" } else { b",{" });
            json::push_key(&mut out, "\"rule_id");
            out.extend_from_slice(&info.rule_id_json);
            json::push_key(&mut out, ",\"outcome");
            out.extend_from_slice(&info.outcome_json);
            json::push_key(&mut out, ",\"reason");
            // the reason is the fact, a space and the cure (escaped once, at start-up)
            json::push_str(&mut out, reason);
            out.pop();
            out.push(b' ');
            out.extend_from_slice(&info.cure_json);
            out.push(b'"');
            json::push_key(&mut out, ",\"citation");
            out.extend_from_slice(&info.citation_json);
            out.push(b'}');
        }
        out.push(b']');
        json::push_key(&mut out, ",\"rule_pack_version");
        json::push_str(&mut out, &self.version_text);
        json::push_key(&mut out, ",\"ior_classification");
        out.extend_from_slice(&profile.json.category);
        json::push_key(&mut out, ",\"failed_prongs");
        out.extend_from_slice(&profile.json.failed_prongs);
        json::push_key(&mut out, ",\"classification_reading");
        out.extend_from_slice(&profile.json.reading);
        json::push_key(&mut out, ",\"risk_tier");
        out.extend_from_slice(&profile.json.risk_tier);
        json::push_key(&mut out, ",\"filed_at");
        self.push_datetime(&mut out, filed_at)?;
        json::push_key(&mut out, ",\"screened_at");
        let screened_text = self.screened_at_text(screened_at)?;
        out.extend_from_slice(&screened_text);
        json::push_key(&mut out, ",\"trigger");
        json::push_str(&mut out, trigger_text);
        out.push(b'}');

        let mut audit = Vec::with_capacity(512);
        audit.extend_from_slice(b"{\"event_id\":\"");
        audit.extend_from_slice(id.as_bytes());
        audit.extend_from_slice(b"-screened\",\"event_type\":");
        json::push_str(
            &mut audit,
            if trigger_text == "filed" {
                "EntryScreened"
            } else {
                "EntryRescreened"
            },
        );
        json::push_key(&mut audit, ",\"subject");
        json::push_str(&mut audit, entry_number_text);
        json::push_key(&mut audit, ",\"occurred_at");
        audit.extend_from_slice(&screened_text);
        json::push_key(&mut audit, ",\"ior_number");
        audit.extend_from_slice(&profile.json.shown_ior_number);
        json::push_key(&mut audit, ",\"decision_id");
        json::push_str(&mut audit, id);
        json::push_key(&mut audit, ",\"outcome");
        json::push_str(&mut audit, &self.outcome_texts[worst]);
        audit.extend_from_slice(b",\"rule_ids\":[");
        for (i, (rule, _)) in hits.iter().enumerate() {
            if i > 0 {
                audit.push(b',');
            }
            audit.extend_from_slice(&self.rules[*rule].rule_id_json);
        }
        audit.push(b']');
        json::push_key(&mut audit, ",\"rule_pack_version");
        json::push_str(&mut audit, &self.version_text);
        json::push_key(&mut audit, ",\"details\":{\"ior_classification");
        audit.extend_from_slice(&profile.json.category);
        json::push_key(&mut audit, ",\"risk_tier");
        audit.extend_from_slice(&profile.json.risk_tier);
        json::push_key(&mut audit, ",\"trigger");
        json::push_str(&mut audit, trigger_text);
        audit.extend_from_slice(b"}}");
        Ok((out, audit))
    }

    /// The screening time as JSON, written once per batch (every decision of a batch shares
    /// the same object).
    fn screened_at_text(&mut self, screened_at: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
        let py = screened_at.py();
        if let Some((last, text)) = &self.last_screened_at {
            if last.bind(py).is(screened_at) {
                return Ok(text.clone());
            }
        }
        let mut text = Vec::with_capacity(32);
        self.push_datetime(&mut text, screened_at)?;
        self.last_screened_at = Some((screened_at.clone().unbind(), text.clone()));
        Ok(text)
    }

    /// The IOR's profile for this record: the Python screener's `new_profile`, converted
    /// once and cached here (keyed by IOR number, valid while the record object is the same).
    fn profile<'py>(
        &mut self,
        py: Python<'py>,
        ior_number: &Bound<'py, PyString>,
        ior: &Bound<'py, PyAny>,
    ) -> PyResult<Arc<Profile>> {
        let key = ior_number.to_str()?;
        if let Some(cached) = self.profiles.get(key) {
            if cached.ior.bind(py).is(ior) {
                return Ok(cached.clone());
            }
        }
        let p = self
            .screener
            .bind(py)
            .call_method1(intern!(py, "new_profile"), (ior_number, ior))?;
        let classification = p.getattr("classification")?;
        let category = classification.getattr("category")?;
        let is_foreign = category.extract::<String>()? == "foreign";
        let risk = p.getattr("risk")?;
        let (risk_tier, risk_high, risk_reasons) = if risk.is_none() {
            (py.None(), false, String::new())
        } else {
            let tier = risk.getattr("tier")?;
            let reasons: Vec<String> = risk.getattr("reasons")?.extract()?;
            let high = tier.extract::<i64>()? == HIGH_RISK_TIER;
            (tier.unbind(), high, reasons.join("; "))
        };
        let mut ior_facts = Vec::new();
        for item in p.getattr("ior_facts")?.try_iter()? {
            let (rule_id, fact): (String, String) = item?.extract()?;
            ior_facts.push((rule_index(&rule_id)?, fact));
        }
        let registered = !ior.is_none();
        let (ctpat_tier, duties, expected, granted, record_number) = if registered {
            let bond = ior.getattr("continuous_bond")?;
            let granted =
                !bond.is_none() && bond.getattr("foreign_exception_granted")?.is_truthy()?;
            (
                ior.getattr("ctpat_tier")?.extract::<i64>()?,
                or_zero(
                    ior.getattr("duties_paid_12m_usd")?
                        .extract::<Option<f64>>()?,
                ),
                ior.getattr("expected_entries_per_year")?
                    .extract::<Option<i64>>()?
                    .unwrap_or(0),
                granted,
                Some(ior.getattr("ior_number")?.unbind()),
            )
        } else {
            (0, 0.0, 0, false, None)
        };
        let shown = p.getattr("shown_ior_number")?;
        let shown_text: String = shown.extract()?;
        let prongs: Vec<String> = classification.getattr("failed_prongs")?.extract()?;
        let mut prongs_json = vec![b'['];
        for (i, prong) in prongs.iter().enumerate() {
            if i > 0 {
                prongs_json.push(b',');
            }
            json::push_str(&mut prongs_json, prong);
        }
        prongs_json.push(b']');
        let json = ProfileJson {
            shown_ior_number: json::quoted(&shown_text),
            category: json::quoted(&category.extract::<String>()?),
            failed_prongs: prongs_json,
            reading: json::quoted(&classification.getattr("reading")?.extract::<String>()?),
            risk_tier: match risk_tier.bind(py).extract::<Option<i64>>()? {
                Some(tier) => tier.to_string().into_bytes(),
                None => b"null".to_vec(),
            },
        };
        let profile = Arc::new(Profile {
            ior: ior.clone().unbind(),
            registered,
            shown_ior_number: shown_text,
            shown_ior_number_obj: shown.unbind(),
            ior_number: record_number,
            json,
            category: category.unbind(),
            is_foreign,
            failed_prongs: classification.getattr("failed_prongs")?.unbind(),
            reading: classification.getattr("reading")?.unbind(),
            risk_tier,
            risk_high,
            risk_reasons,
            ior_facts,
            owner_matches: p.getattr("owner_matches")?.extract()?,
            required_continuous_bond: p.getattr("required_continuous_bond")?.extract()?,
            continuous_bond_usd: p.getattr("continuous_bond_usd")?.extract()?,
            foreign_exception_granted: granted,
            ctpat_tier,
            duties_paid_12m: duties,
            expected_entries_per_year: expected,
            foreign_description: p.getattr("foreign_description")?.extract()?,
            registered_ts: p.getattr("registered_ts")?.extract()?,
            registry_digest: std::sync::OnceLock::new(),
        });
        if self.profiles.len() >= PROFILE_CACHE_LIMIT {
            self.profiles.clear();
        }
        self.profiles.insert(key.to_owned(), profile.clone());
        Ok(profile)
    }

    fn plan(
        &mut self,
        py: Python<'_>,
        segment: usize,
        registered: bool,
        foreign: bool,
        entry_type: &str,
    ) -> PyResult<Arc<[usize]>> {
        let slot = segment * 4 + (registered as usize) * 2 + foreign as usize;
        if let Some(plans) = self.plans.get(entry_type) {
            if let Some(Some(plan)) = plans.get(slot) {
                return Ok(plan.clone());
            }
        }
        // Which rules can fire is decided by the Python core's gates, once per combination.
        let key = (segment, registered, foreign, entry_type);
        let rules = self
            .screener
            .bind(py)
            .call_method1(intern!(py, "_plan"), (key,))?;
        let mut plan = Vec::new();
        for rule in rules.try_iter()? {
            let rule_id: String = rule?.getattr("rule_id")?.extract()?;
            plan.push(rule_index(&rule_id)?);
        }
        let slots = self.bounds.len() + 1;
        let plans = self
            .plans
            .entry(entry_type.to_owned())
            .or_insert_with(|| vec![None; slots * 4]);
        let plan: Arc<[usize]> = plan.into();
        plans[slot] = Some(plan.clone());
        Ok(plan)
    }

    fn watchlist_matches<'py>(
        &mut self,
        py: Python<'py>,
        index: &Bound<'py, PyAny>,
        name: &str,
        country: Option<&str>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let country_text = country.unwrap_or("");
        if let Some(found) = self
            .watchlist_memo
            .get(name)
            .and_then(|m| m.get(country_text))
        {
            return Ok(found.bind(py).clone());
        }
        let found = if self.names.unlisted(name) {
            PyTuple::empty(py)
        } else {
            index
                .call_method1(
                    intern!(py, "match"),
                    (
                        name,
                        country,
                        self.params.watchlist_lists.bind(py),
                        self.params.watchlist_same_country.bind(py),
                    ),
                )?
                .downcast_into::<PyTuple>()?
        };
        if self.watchlist_memo_size >= WATCHLIST_MEMO_LIMIT {
            self.watchlist_memo.clear();
            self.watchlist_memo_size = 0;
        }
        self.watchlist_memo
            .entry(name.to_owned())
            .or_default()
            .insert(country_text.to_owned(), found.clone().unbind());
        self.watchlist_memo_size += 1;
        Ok(found)
    }

    fn check(&mut self, rule: usize, case: &Case<'_, '_>) -> PyResult<Option<String>> {
        match rule {
            IOR_UNREGISTERED => Ok(ior_unregistered(case)),
            BOND_SUFFICIENCY => Ok(bond_sufficiency(case, &self.params)),
            FOREIGN_INFORMAL => Ok(foreign_entry_type(case, &self.params.foreign_informal_types, "informal")),
            FOREIGN_CONTINUOUS_BOND => Ok(foreign_continuous_bond(case)),
            FOREIGN_CTPAT => Ok(foreign_ctpat(case, self.params.ctpat_min_tier, &self.brokers)),
            FOREIGN_INBOND => Ok(foreign_entry_type(case, &self.params.foreign_inbond_types, "in-bond")),
            FOREIGN_ADCVD => Ok(foreign_adcvd(case, &self.params)),
            EXPORT_DOCS => Ok(missing_document(
                case,
                &self.params.export_docs_exempt,
                case.entry.export_declaration_ref.is_none(),
                "The entry does not reference the export declaration filed with the foreign customs administration.",
            )),
            SUPPLY_CHAIN_CERT => Ok(missing_document(
                case,
                &self.params.supply_chain_exempt,
                case.entry.supply_chain_cert_ref.is_none(),
                "The entry carries no supply-chain and production-method certification.",
            )),
            INFORMAL_VALUE => Ok(informal_value(case, &self.params)),
            DE_MINIMIS_SUSPENDED => Ok(de_minimis_suspended(case, &self.params)),
            WATCHLIST_MATCH => self.watchlist_match(case),
            STRAW_IOR => straw_ior(case, &self.params),
            RISK_TIER_EXAM => Ok(risk_tier_exam(case, self.params.exam_rate)),
            _ => Err(PyValueError::new_err(format!(
                "{} is an IOR rule, not an entry rule",
                RULE_IDS[rule]
            ))),
        }
    }

    fn watchlist_match(&mut self, case: &Case<'_, '_>) -> PyResult<Option<String>> {
        let py = case.py;
        let mut found: Vec<String> = Vec::new();
        if let Some(index) = self.watchlist.as_ref().map(|w| w.clone_ref(py)) {
            let index = index.bind(py);
            let describe = self.describe_match.clone_ref(py);
            let entry = case.entry;
            for (i, line) in entry.lines.iter().enumerate() {
                if i < 63 && case.unlisted & (1 << i) != 0 {
                    continue; // no list can match the name (`Prepared::unlisted`)
                }
                if let Some(name) = &line.manufacturer_name {
                    let matches =
                        self.watchlist_matches(py, index, name, Some(&line.country_of_origin))?;
                    for m in matches.iter() {
                        let role = format!("Manufacturer on line {}", line.line_number);
                        found.push(
                            describe
                                .bind(py)
                                .call1((role, name.as_ref(), m))?
                                .extract()?,
                        );
                    }
                }
            }
            if let Some(shipper) = entry
                .shipper_name
                .as_ref()
                .filter(|_| case.unlisted & SHIPPER_UNLISTED == 0)
            {
                let matches =
                    self.watchlist_matches(py, index, shipper, entry.shipper_country.as_deref())?;
                for m in matches.iter() {
                    found.push(
                        describe
                            .bind(py)
                            .call1(("Shipper", shipper.as_ref(), m))?
                            .extract()?,
                    );
                }
            }
        }
        found.extend(case.profile.owner_matches.iter().cloned());
        if found.is_empty() {
            return Ok(None);
        }
        let mut text = found[..found.len().min(3)].join("; ");
        if found.len() > 3 {
            write!(text, "; and {} more", found.len() - 3).expect("writing to a String");
        }
        text.push('.');
        Ok(Some(text))
    }
}

// --- the entry rules (screening/rules.py, function for function) -------------------------------

fn ior_unregistered(case: &Case<'_, '_>) -> Option<String> {
    if !case.profile.registered {
        return Some(format!("{} is not in the IOR registry.", case.who()));
    }
    None
}

fn bond_sufficiency(case: &Case<'_, '_>, p: &Params) -> Option<String> {
    let entry = case.entry;
    if p.bond_exempt.contains(entry.entry_type.as_ref()) {
        return None;
    }
    let bond = match &entry.bond {
        Some(bond) if bond.kind != "0" => bond,
        _ => {
            return Some(format!(
                "Entry type {} needs a bond and none is filed.",
                entry.entry_type
            ))
        }
    };
    if bond.kind == "8" {
        let profile = case.profile;
        if !profile.registered {
            return None; // IOR-UNREGISTERED already holds it; there is no bond on file to size
        }
        let Some(on_file) = profile.continuous_bond_usd else {
            return Some(format!(
                "The entry claims a continuous bond, but {} has none on file.",
                case.who()
            ));
        };
        let required_bond = profile.required_continuous_bond;
        if on_file < required_bond {
            return Some(format!(
                "The continuous bond of {} is below the {} that CBP's sizing requires for {} of \
                 duties, taxes and fees in 12 months.",
                usd(on_file),
                usd(required_bond),
                usd(profile.duties_paid_12m)
            ));
        }
        return None;
    }
    let pga = entry.lines.iter().any(|l| !l.pga_codes.is_empty());
    let dtf = or_zero(entry.duties_taxes_fees_usd);
    let mut required_cover = entry.entered_value_usd + dtf;
    if pga {
        let multiple = p.pga_value_multiple * entry.entered_value_usd;
        if multiple > required_cover {
            required_cover = multiple;
        }
    }
    if bond.amount_usd < required_cover {
        let basis = if pga {
            p.pga_basis.as_str()
        } else {
            "entered value plus duties, taxes and fees"
        };
        return Some(format!(
            "The single-transaction bond of {} is below the {} this entry needs ({}).",
            usd(bond.amount_usd),
            usd(required_cover),
            basis
        ));
    }
    None
}

fn foreign_entry_type(case: &Case<'_, '_>, types: &HashSet<String>, kind: &str) -> Option<String> {
    let entry_type = case.entry.entry_type.as_ref();
    if case.profile.is_foreign && types.contains(entry_type) {
        return Some(format!(
            "{} and may not use {} entry type {}.",
            case.profile.foreign_description, kind, entry_type
        ));
    }
    None
}

fn foreign_continuous_bond(case: &Case<'_, '_>) -> Option<String> {
    if !case.profile.is_foreign {
        return None;
    }
    match &case.entry.bond {
        Some(bond) if bond.kind == "8" => {}
        _ => return None,
    }
    if case.profile.foreign_exception_granted {
        return None;
    }
    Some(format!(
        "{} and relies on a continuous bond without CBP's exception.",
        case.profile.foreign_description
    ))
}

fn foreign_ctpat(
    case: &Case<'_, '_>,
    min_tier: i64,
    brokers: &FxHashMap<String, i64>,
) -> Option<String> {
    if !case.profile.is_foreign || case.profile.ctpat_tier >= min_tier {
        return None;
    }
    let channel = match &case.entry.broker_filer_code {
        None => "the entry is self-filed".to_owned(),
        Some(code) => {
            let broker = brokers.get(code.as_ref());
            if let Some(tier) = broker {
                if *tier >= min_tier {
                    return None;
                }
            }
            let known = if broker.is_some() {
                "not a CTPAT member"
            } else {
                "not in the broker reference data"
            };
            format!("filer {code} is {known}")
        }
    };
    Some(format!(
        "{}, is not a CTPAT member, and {}.",
        case.profile.foreign_description, channel
    ))
}

fn foreign_adcvd(case: &Case<'_, '_>, p: &Params) -> Option<String> {
    if !case.profile.is_foreign {
        return None;
    }
    let entry = case.entry;
    let listed_type = p.adcvd_entry_types.contains(entry.entry_type.as_ref());
    if !listed_type && !entry.lines.iter().any(|l| l.adcvd_case.is_some()) {
        return None;
    }
    // Added in order, as the Python rule does.
    let mut adcvd_sum = 0.0_f64;
    let mut cases: Vec<&str> = Vec::new();
    for line in &entry.lines {
        if let Some(number) = &line.adcvd_case {
            adcvd_sum += line.entered_value_usd;
            if !cases.contains(&number.as_ref()) {
                cases.push(number);
            }
        }
    }
    let entered = entry.entered_value_usd;
    let adcvd_value = if adcvd_sum != 0.0 { adcvd_sum } else { entered };
    let base = entered + or_zero(entry.duties_taxes_fees_usd);
    let required_cover = base + p.deposit_risk_rate * adcvd_value;
    let cover = match &entry.bond {
        Some(bond) if bond.kind == "9" => bond.amount_usd,
        Some(bond) if bond.kind == "8" && case.profile.registered => {
            case.profile.continuous_bond_usd.unwrap_or(0.0)
        }
        _ => 0.0,
    };
    if cover >= required_cover {
        return None;
    }
    cases.sort();
    let which = if cases.is_empty() {
        String::new()
    } else {
        format!(" (case {})", cases.join(", "))
    };
    Some(format!(
        "{} on an AD/CVD entry{}; its bond cover of {} is below the {} needed for value, duties and \
         {} of the {} of AD/CVD goods.",
        case.profile.foreign_description,
        which,
        usd(cover),
        usd(required_cover),
        p.deposit_risk_text,
        usd(adcvd_value)
    ))
}

fn missing_document(
    case: &Case<'_, '_>,
    exempt: &HashSet<String>,
    missing: bool,
    text: &str,
) -> Option<String> {
    if missing && !exempt.contains(case.entry.entry_type.as_ref()) {
        return Some(text.to_owned());
    }
    None
}

fn informal_value(case: &Case<'_, '_>, p: &Params) -> Option<String> {
    let entry = case.entry;
    if !p.informal_types.contains(entry.entry_type.as_ref()) {
        return None;
    }
    let mut problems: Vec<String> = Vec::new();
    if entry.entered_value_usd > p.informal_limit {
        problems.push(format!(
            "its value of {} is over the informal limit of {}",
            usd(entry.entered_value_usd),
            p.informal_limit_text
        ));
    }
    let mut formal_only: Vec<String> = Vec::new();
    for line in &entry.lines {
        let prefix: String = line.hts.chars().take(4).collect();
        if p.formal_only_prefixes.contains(&prefix) && !formal_only.contains(&prefix) {
            formal_only.push(prefix);
        }
    }
    if !formal_only.is_empty() {
        formal_only.sort();
        problems.push(format!(
            "it has HTS {} goods, which need formal entry",
            formal_only.join("/")
        ));
    }
    if problems.is_empty() {
        return None;
    }
    Some(format!(
        "Informal entry type {} is not allowed: {}.",
        entry.entry_type,
        problems.join(" and ")
    ))
}

fn de_minimis_suspended(case: &Case<'_, '_>, p: &Params) -> Option<String> {
    let entry_type = case.entry.entry_type.as_ref();
    if p.de_minimis_types.contains(entry_type) {
        return Some(format!(
            "Entry type {entry_type} (de minimis) is suspended for all countries."
        ));
    }
    None
}

fn straw_ior(case: &Case<'_, '_>, p: &Params) -> PyResult<Option<String>> {
    let Some(activity) = case.activity else {
        return Ok(None);
    };
    let age_days = py_floor_div(case.at_ts - case.profile.registered_ts, 86_400.0) as i64;
    if age_days > p.straw_recent_days {
        return Ok(None);
    }
    let fda = case.entry.lines.iter().any(|l| {
        l.pga_codes
            .iter()
            .any(|c| p.straw_fda_codes.contains(c.as_ref()))
    });
    if !fda {
        return Ok(None);
    }
    let py = case.py;
    let ior_number = case
        .profile
        .ior_number
        .as_ref()
        .ok_or_else(|| PyValueError::new_err("STRAW-IOR needs a registered IOR"))?;
    let recent: i64 = activity
        .call_method1(
            intern!(py, "entries_in_window"),
            (ior_number.bind(py), case.at),
        )?
        .extract()?;
    let declared = case.profile.expected_entries_per_year;
    let expected_in_window = (declared * WINDOW_DAYS) as f64 / 365.0;
    if recent < p.straw_min_entries
        || (recent as f64) <= p.straw_volume_multiple * expected_in_window
    {
        return Ok(None);
    }
    Ok(Some(format!(
        "{}, registered {} days ago, filed {} entries in {} days against {} a year declared on \
         Form 5106, with FDA-regulated goods.",
        case.who(),
        age_days.max(0),
        recent,
        WINDOW_DAYS,
        declared
    )))
}

fn exam_selected(entry_number: &str, rate: f64) -> bool {
    let crc = crc32fast::hash(entry_number.as_bytes());
    ((crc % 10_000) as f64) < rate * 10_000.0
}

fn risk_tier_exam(case: &Case<'_, '_>, rate: f64) -> Option<String> {
    if case.profile.risk_high && exam_selected(&case.entry.entry_number, rate) {
        return Some(format!(
            "{} is in risk tier 4 ({}) and this entry was selected for examination.",
            case.who(),
            case.profile.risk_reasons
        ));
    }
    None
}

fn decision_id(entry_number: &str, revision: i64, pack_version: &str, basis: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut hasher = Blake2bVar::new(16).expect("16 bytes is a valid BLAKE2b size");
    // f"{entry_number}|{revision}|{pack_version}|{basis}", fed in pieces
    hasher.update(entry_number.as_bytes());
    hasher.update(b"|");
    hasher.update(revision.to_string().as_bytes());
    hasher.update(b"|");
    hasher.update(pack_version.as_bytes());
    hasher.update(b"|");
    hasher.update(basis.as_bytes());
    let mut digest = [0u8; 16];
    hasher
        .finalize_variable(&mut digest)
        .expect("the buffer has the digest's size");
    let mut hex = String::with_capacity(32);
    for byte in digest {
        hex.push(HEX[(byte >> 4) as usize] as char);
        hex.push(HEX[(byte & 0xf) as usize] as char);
    }
    hex
}

#[pymethods]
impl NativeScreener {
    /// Compile what the Python `Screener` holds: the pack's rules and segments, the broker
    /// table and the entity lists.
    #[new]
    fn new(py: Python<'_>, screener: Bound<'_, PyAny>) -> PyResult<Self> {
        let pack = screener.getattr("pack")?;
        let version = pack.getattr("version")?;
        let bounds: Vec<f64> = screener.getattr("_bounds")?.extract()?;
        let mut ior_rules_in_force = Vec::new();
        for segment in screener.getattr("_segments")?.try_iter()? {
            let mut in_force = [false; 19];
            for rule_id in segment?.getattr("ior_rules")?.try_iter()? {
                in_force[rule_index(&rule_id?.extract::<String>()?)?] = true;
            }
            ior_rules_in_force.push(in_force);
        }
        let active = screener.getattr("_rules")?.downcast_into::<PyDict>()?;
        let mut rules = Vec::new();
        for rule_id in RULE_IDS {
            let rule = active.get_item(rule_id)?.ok_or_else(|| {
                PyValueError::new_err(format!("the screener has no rule {rule_id}"))
            })?;
            let outcome_text: String = rule.getattr("outcome")?.extract()?;
            let citation_text: String = rule.getattr("citation")?.extract()?;
            let cure_text: String = rule.getattr("cure")?.extract()?;
            let mut cure_json = Vec::new();
            json::push_str(&mut cure_json, &cure_text);
            rules.push(RuleInfo {
                rule_id_json: json::quoted(rule_id),
                outcome_json: json::quoted(&outcome_text),
                citation_json: json::quoted(&citation_text),
                cure_json: cure_json[1..cure_json.len() - 1].to_vec(),
                rule_id: PyString::new(py, rule_id).unbind(),
                outcome: rule
                    .getattr("outcome")?
                    .downcast_into::<PyString>()?
                    .unbind(),
                citation: rule
                    .getattr("citation")?
                    .downcast_into::<PyString>()?
                    .unbind(),
                cure: rule.getattr("cure")?.extract()?,
                severity: rule.getattr("severity")?.extract()?,
            });
        }
        let bond = params_of(&active, "BOND-SUFFICIENCY")?;
        let adcvd = params_of(&active, "FOREIGN-ADCVD")?;
        let informal = params_of(&active, "INFORMAL-VALUE")?;
        let watch = params_of(&active, "WATCHLIST-MATCH")?;
        let straw = params_of(&active, "STRAW-IOR")?;
        let multiple = bond.getattr("pga_value_multiple")?;
        let rate = adcvd.getattr("deposit_risk_rate")?;
        let params = Params {
            bond_exempt: str_set(&bond.getattr("bond_exempt_entry_types")?)?,
            pga_value_multiple: multiple.extract()?,
            pga_basis: format!(
                "{}x the entered value for goods under other agencies' rules",
                py_format(py, &multiple, "g")?
            ),
            foreign_informal_types: str_set(
                &params_of(&active, "FOREIGN-INFORMAL")?.getattr("entry_types")?,
            )?,
            ctpat_min_tier: params_of(&active, "FOREIGN-CTPAT")?
                .getattr("min_tier")?
                .extract()?,
            foreign_inbond_types: str_set(
                &params_of(&active, "FOREIGN-INBOND")?.getattr("entry_types")?,
            )?,
            adcvd_entry_types: str_set(&adcvd.getattr("adcvd_entry_types")?)?,
            deposit_risk_rate: rate.extract()?,
            deposit_risk_text: py_format(py, &rate, ".0%")?,
            export_docs_exempt: str_set(
                &params_of(&active, "EXPORT-DOCS")?.getattr("exempt_entry_types")?,
            )?,
            supply_chain_exempt: str_set(
                &params_of(&active, "SUPPLY-CHAIN-CERT")?.getattr("exempt_entry_types")?,
            )?,
            informal_types: str_set(&informal.getattr("entry_types")?)?,
            informal_limit: informal.getattr("informal_limit_usd")?.extract()?,
            informal_limit_text: usd(informal.getattr("informal_limit_usd")?.extract()?),
            formal_only_prefixes: str_set(&informal.getattr("formal_only_hts_prefixes")?)?,
            de_minimis_types: str_set(
                &params_of(&active, "DE-MINIMIS-SUSPENDED")?.getattr("entry_types")?,
            )?,
            watchlist_lists: watch.getattr("lists")?.unbind(),
            watchlist_same_country: watch.getattr("require_same_country")?.unbind(),
            straw_recent_days: straw.getattr("recent_registration_days")?.extract()?,
            straw_volume_multiple: straw.getattr("volume_multiple")?.extract()?,
            straw_min_entries: straw.getattr("min_entries_30d")?.extract()?,
            straw_fda_codes: str_set(&straw.getattr("fda_pga_codes")?)?,
            exam_rate: params_of(&active, "RISK-TIER-EXAM")?
                .getattr("exam_rate")?
                .extract()?,
        };
        let reference = screener.getattr("reference")?;
        let mut brokers = FxHashMap::default();
        let broker_map = reference.getattr("brokers")?;
        for code in broker_map.try_iter()? {
            let code = code?;
            let tier: i64 = broker_map
                .get_item(&code)?
                .getattr("ctpat_tier")?
                .extract()?;
            brokers.insert(code.extract::<String>()?, tier);
        }
        let index = reference.getattr("watchlist")?;
        // As in the Python rule: the records tuple decides whether there is anything to match.
        let watchlist = if index.getattr("records")?.is_truthy()? {
            Some(index.unbind())
        } else {
            None
        };
        let listed = match &watchlist {
            Some(index) => {
                let mut listed = HashSet::new();
                let by_key = index.bind(py).getattr("_by_key")?;
                for (key, candidates) in by_key.downcast::<PyDict>()?.iter() {
                    if candidates.is_truthy()? {
                        listed.insert(key.extract::<String>()?);
                    }
                }
                Some(listed)
            }
            None => None,
        };
        let name_module = py.import("screening.watchlist")?;
        let romanisations: HashMap<String, String> =
            name_module.getattr("ROMANISATIONS")?.extract()?;
        let names = Arc::new(NameForms {
            legal_form_words: str_set(&name_module.getattr("LEGAL_FORM_WORDS")?)?,
            romanisations: romanisations.into_iter().collect(),
            listed,
        });
        let decision_module = py.import("schemas.decision")?;
        let outcomes = decision_module.getattr("OUTCOMES")?;
        let hash_iors = !screener.getattr("_ior_hash_key")?.is_none();
        Ok(NativeScreener {
            screener: screener.clone().unbind(),
            version_text: version.extract()?,
            version: version.unbind(),
            bounds,
            ior_rules_in_force,
            rules,
            params,
            outcomes: [
                outcomes.get_item(0)?.unbind(),
                outcomes.get_item(1)?.unbind(),
                outcomes.get_item(2)?.unbind(),
            ],
            brokers,
            watchlist,
            watchlist_memo: FxHashMap::default(),
            watchlist_memo_size: 0,
            names,
            describe_match: py
                .import("screening.rules")?
                .getattr("describe_match")?
                .unbind(),
            rule_hit: decision_module.getattr("RuleHit")?.unbind(),
            decision: decision_module.getattr("ScreeningDecision")?.unbind(),
            hash_iors,
            profiles: FxHashMap::default(),
            plans: FxHashMap::default(),
            last_zone: None,
            orjson_dumps: py.import("orjson")?.getattr("dumps")?.unbind(),
            orjson_options: py.import("orjson")?.getattr("OPT_UTC_Z")?.unbind(),
            last_screened_at: None,
            outcome_texts: [
                outcomes.get_item(0)?.extract()?,
                outcomes.get_item(1)?.extract()?,
                outcomes.get_item(2)?.extract()?,
            ],
            fixed_offset_zones: vec![
                py.import("datetime")?.getattr("timezone")?.unbind(),
                py.import("pydantic_core")?.getattr("TzInfo")?.unbind(),
            ],
        })
    }

    /// The hot path: one filing message from its bytes to its decision, with no pydantic
    /// model in between. `decoder` checks the message as the models would; `lookup` gives
    /// the IOR's registry record; `activity` (if not None) counts the entry before it is
    /// screened. Returns (decision, its JSON, its audit event's JSON, IOR number, registry
    /// record, filing time, bond type), or None when the decoder is not sure of the
    /// message: then the caller decodes it with pydantic and screens the model.
    ///
    /// With `into` (an `OutputBatches`, or anything with its `add`), the decision goes
    /// there instead, to `partition` of `topics[outcome]` (topics: the release, hold and
    /// seizure-review topics, then the audit topic), and its audit event after it, both
    /// keyed by entry number; the two JSON slots of the tuple are then empty.
    #[pyo3(signature = (data, decoder, lookup, screened_at, activity, into=None, partition=0, topics=None))]
    #[allow(clippy::too_many_arguments)]
    fn screen_message<'py>(
        &mut self,
        py: Python<'py>,
        data: &[u8],
        decoder: &Bound<'py, decode::EntryDecoder>,
        lookup: &Bound<'py, PyAny>,
        screened_at: &Bound<'py, PyAny>,
        activity: &Bound<'py, PyAny>,
        into: Option<&Bound<'py, PyAny>>,
        partition: i64,
        topics: Option<(String, String, String, String)>,
    ) -> PyResult<Option<Bound<'py, PyTuple>>> {
        let checked = decoder.get().check(data);
        let Some((filing, stamp)) = checked else {
            return Ok(None);
        };
        let filed_at = decoder.get().datetime(py, &stamp)?.into_any();
        let ior_number = PyString::new(py, &filing.ior_number);
        let ior = lookup.call1((&ior_number,))?;
        if let Ok(counter) = activity.downcast::<activity::ActivityCounter>() {
            // the compiled counter: no Python call; the day comes from the stamp itself
            counter
                .borrow_mut()
                .record_day(&filing.ior_number, stamp.day_number());
        } else if !activity.is_none() {
            activity.call_method1(intern!(py, "record"), (&ior_number, &filed_at))?;
        }
        let none = py.None().into_bound(py);
        let filed = intern!(py, "filed");
        let evaluated = self.evaluate(
            py,
            &filing,
            &ior_number,
            &filed_at,
            &ior,
            screened_at,
            &none,
            activity,
            filed,
            "",
            None,
        )?;
        let decision =
            self.decision_object(py, &filing, &evaluated, &filed_at, screened_at, filed)?;
        let (out, audit) = evaluated.encoded;
        let bond_type = match &filing.bond {
            Some(bond) => PyString::new(py, &bond.kind).into_any(),
            None => none,
        };
        let (out, audit) = match into {
            None => (
                PyBytes::new(py, &out).into_any(),
                PyBytes::new(py, &audit).into_any(),
            ),
            Some(sink) => {
                let topics = topics.ok_or_else(|| {
                    PyValueError::new_err("screen_message: `into` needs `topics`")
                })?;
                let outcome = decision.getattr(intern!(py, "outcome"))?;
                let outcome = outcome.downcast::<PyString>()?.to_str()?;
                let topic = match self.outcome_texts.iter().position(|o| o == outcome) {
                    Some(0) => &topics.0,
                    Some(1) => &topics.1,
                    Some(2) => &topics.2,
                    _ => return Err(PyValueError::new_err(format!("outcome {outcome}"))),
                };
                let key = filing.entry_number.as_bytes();
                if let Ok(batches) = sink.downcast::<records::OutputBatches>() {
                    let mut batches = batches.borrow_mut();
                    batches.push(py, topic, partition, Some(key), Some(&out), &[])?;
                    batches.push(py, &topics.3, partition, Some(key), Some(&audit), &[])?;
                } else {
                    let add = sink.getattr(intern!(py, "add"))?;
                    let key = PyBytes::new(py, key);
                    add.call1((topic, partition, &key, PyBytes::new(py, &out)))?;
                    add.call1((&topics.3, partition, &key, PyBytes::new(py, &audit)))?;
                }
                let empty = PyBytes::new(py, b"").into_any();
                (empty.clone(), empty)
            }
        };
        Ok(Some(PyTuple::new(
            py,
            [
                decision,
                out,
                audit,
                ior_number.into_any(),
                ior,
                filed_at,
                bond_type,
            ],
        )?))
    }

    /// Starts decoding a batch's entry messages (each partition's list, in the order the
    /// loop screens them) on a second thread, with what each decision takes from its filing
    /// alone prepared under this screener's pack and entity lists (`ahead.rs`).
    fn decode_ahead(
        &self,
        py: Python<'_>,
        run: &Bound<'_, run::BatchRun>,
        lists: Vec<Bound<'_, pyo3::types::PyList>>,
    ) -> PyResult<()> {
        run.borrow_mut().decode_ahead(
            py,
            &lists,
            ahead::Preparation {
                version: self.version_text.clone(),
                names: self.names.clone(),
            },
        )
    }

    /// The screening loop's common case for messages `start..stop` of a partition's batch
    /// (`run.rs`): screened, written into the run's batches, counted, holds opened; stops at
    /// the first message the Python loop must handle and returns its index (`stop` if none).
    fn screen_run(
        &mut self,
        py: Python<'_>,
        run: &Bound<'_, run::BatchRun>,
        messages: &Bound<'_, pyo3::types::PyList>,
        start: usize,
        stop: usize,
        partition: i64,
    ) -> PyResult<usize> {
        run::screen_run(
            self,
            py,
            &mut run.borrow_mut(),
            messages,
            start,
            stop,
            partition,
        )
    }

    /// `Screener.screen_encoded` (and `Screener.screen`, which keeps the decision only): the
    /// decision of an `EntryFiling` model with its encoding and its audit event's, as
    /// `codec.encode` and `screened_event_bytes` would write them.
    #[pyo3(signature = (entry, ior, screened_at, as_of, activity, trigger, basis))]
    #[allow(clippy::too_many_arguments)]
    fn screen_encoded<'py>(
        &mut self,
        py: Python<'py>,
        entry: &Bound<'py, PyAny>,
        ior: &Bound<'py, PyAny>,
        screened_at: &Bound<'py, PyAny>,
        as_of: &Bound<'py, PyAny>,
        activity: &Bound<'py, PyAny>,
        trigger: &Bound<'py, PyString>,
        basis: &str,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyBytes>, Bound<'py, PyBytes>)> {
        let filing = Filing::from_model(entry)?;
        let filed_at = entry.getattr(intern!(py, "filed_at"))?;
        let ior_number = entry
            .getattr(intern!(py, "ior_number"))?
            .downcast_into::<PyString>()?;
        let evaluated = self.evaluate(
            py,
            &filing,
            &ior_number,
            &filed_at,
            ior,
            screened_at,
            as_of,
            activity,
            trigger,
            basis,
            None,
        )?;
        let decision =
            self.decision_object(py, &filing, &evaluated, &filed_at, screened_at, trigger)?;
        let (out, audit) = evaluated.encoded;
        Ok((decision, PyBytes::new(py, &out), PyBytes::new(py, &audit)))
    }

    /// Exposed for the tests: a float and a date-time as the outputs write them.
    #[staticmethod]
    fn format_float(value: f64) -> Option<String> {
        json::format_float(value)
    }

    #[staticmethod]
    fn json_string(text: &str) -> Vec<u8> {
        let mut out = Vec::new();
        json::push_str(&mut out, text);
        out
    }

    /// The rule ids this module implements, in catalogue order.
    /// The normal forms of a name as the native core computes them (tests compare them with
    /// `screening.watchlist.normalize_name` and `compact_name`).
    fn watchlist_name_keys(&self, name: &str) -> Option<(String, String)> {
        self.names.keys(name)
    }

    #[staticmethod]
    fn rule_ids() -> Vec<&'static str> {
        RULE_IDS.to_vec()
    }

    /// Exposed for the property tests: the money format and Python's float floor division.
    #[staticmethod]
    fn format_usd(amount: f64) -> String {
        usd(amount)
    }

    #[staticmethod]
    fn floor_div(x: f64, y: f64) -> f64 {
        py_floor_div(x, y)
    }

    #[staticmethod]
    fn decision_id_of(
        entry_number: &str,
        revision: i64,
        pack_version: &str,
        basis: &str,
    ) -> String {
        decision_id(entry_number, revision, pack_version, basis)
    }

    #[staticmethod]
    fn is_exam_selected(entry_number: &str, rate: f64) -> bool {
        exam_selected(entry_number, rate)
    }
}

#[pymodule]
fn screening_native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<NativeScreener>()?;
    m.add_class::<decode::EntryDecoder>()?;
    m.add_class::<activity::ActivityCounter>()?;
    m.add_class::<records::RecordBatchWriter>()?;
    m.add_class::<records::OutputBatches>()?;
    m.add_class::<run::BatchRun>()?;
    m.add_class::<fetched::FetchedRecords>()?;
    m.add_class::<fetched::FetchedRecord>()?;
    m.add("RULE_IDS", RULE_IDS.to_vec())?;
    Ok(())
}
