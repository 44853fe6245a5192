//! One entry filing as the native rules read it: borrowed from the message's bytes on the
//! hot path (`decode.rs`), or copied out of an `EntryFiling` model for the other callers.

use std::borrow::Cow;

use pyo3::exceptions::PyValueError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

pub struct FilingBond<'a> {
    pub kind: Cow<'a, str>,
    pub amount_usd: f64,
    pub surety_code: Option<Cow<'a, str>>,
}

pub struct FilingLine<'a> {
    pub line_number: u64,
    pub hts: Cow<'a, str>,
    pub country_of_origin: Cow<'a, str>,
    pub entered_value_usd: f64,
    pub manufacturer_id: Option<Cow<'a, str>>,
    pub manufacturer_name: Option<Cow<'a, str>>,
    pub manufacturer_address: Option<Cow<'a, str>>,
    /// Canonical form (`A570983001`).
    pub adcvd_case: Option<Cow<'a, str>>,
    pub pga_codes: Vec<Cow<'a, str>>,
    /// Bits of the optional fields the message gave (pydantic's fields set), by index.
    pub given: u16,
}

pub struct Filing<'a> {
    /// Dashed form (`FFF-NNNNNNN-C`).
    pub entry_number: Cow<'a, str>,
    pub entry_type: Cow<'a, str>,
    pub port_code: Cow<'a, str>,
    pub ior_number: Cow<'a, str>,
    pub broker_filer_code: Option<Cow<'a, str>>,
    pub bond: Option<FilingBond<'a>>,
    pub entered_value_usd: f64,
    pub duties_taxes_fees_usd: Option<f64>,
    pub export_declaration_ref: Option<Cow<'a, str>>,
    pub supply_chain_cert_ref: Option<Cow<'a, str>>,
    pub lines: Vec<FilingLine<'a>>,
    pub revision: u64,
    pub shipper_name: Option<Cow<'a, str>>,
    pub shipper_country: Option<Cow<'a, str>>,
    pub given: u16,
}

fn value<'py>(
    d: &Bound<'py, PyDict>,
    name: &Bound<'py, PyString>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    Ok(d.get_item(name)?.filter(|v| !v.is_none()))
}

fn text(d: &Bound<'_, PyDict>, name: &Bound<'_, PyString>) -> PyResult<Option<Cow<'static, str>>> {
    value(d, name)?
        .map(|v| Ok(Cow::Owned(v.extract::<String>()?)))
        .transpose()
}

fn required_text(d: &Bound<'_, PyDict>, name: &Bound<'_, PyString>) -> PyResult<Cow<'static, str>> {
    text(d, name)?.ok_or_else(|| PyValueError::new_err(format!("the entry has no {name}")))
}

fn number(d: &Bound<'_, PyDict>, name: &Bound<'_, PyString>) -> PyResult<Option<f64>> {
    value(d, name)?.map(|v| v.extract::<f64>()).transpose()
}

fn fields<'py>(model: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyDict>> {
    Ok(model
        .getattr(intern!(model.py(), "__dict__"))?
        .downcast_into::<PyDict>()?)
}

impl Filing<'static> {
    /// A copy of an `EntryFiling` model's fields (the screening of models, not bytes).
    pub fn from_model(entry: &Bound<'_, PyAny>) -> PyResult<Self> {
        let py = entry.py();
        let d = fields(entry)?;
        let bond = match value(&d, intern!(py, "bond"))? {
            Some(b) => {
                let b = fields(&b)?;
                Some(FilingBond {
                    kind: required_text(&b, intern!(py, "type"))?,
                    amount_usd: number(&b, intern!(py, "amount_usd"))?.unwrap_or(0.0),
                    surety_code: text(&b, intern!(py, "surety_code"))?,
                })
            }
            None => None,
        };
        let mut lines = Vec::new();
        if let Some(items) = value(&d, intern!(py, "lines"))? {
            for item in items.try_iter()? {
                let l = fields(&item?)?;
                let mut pga_codes = Vec::new();
                if let Some(codes) = value(&l, intern!(py, "pga_codes"))? {
                    for code in codes.try_iter()? {
                        pga_codes.push(Cow::Owned(code?.extract::<String>()?));
                    }
                }
                lines.push(FilingLine {
                    line_number: value(&l, intern!(py, "line_number"))?
                        .map(|v| v.extract())
                        .transpose()?
                        .unwrap_or(0),
                    hts: required_text(&l, intern!(py, "hts"))?,
                    country_of_origin: required_text(&l, intern!(py, "country_of_origin"))?,
                    entered_value_usd: number(&l, intern!(py, "entered_value_usd"))?.unwrap_or(0.0),
                    manufacturer_id: text(&l, intern!(py, "manufacturer_id"))?,
                    manufacturer_name: text(&l, intern!(py, "manufacturer_name"))?,
                    manufacturer_address: text(&l, intern!(py, "manufacturer_address"))?,
                    // the Python rules test the case number's truth: an empty one is none
                    adcvd_case: text(&l, intern!(py, "adcvd_case"))?.filter(|c| !c.is_empty()),
                    pga_codes,
                    given: 0,
                });
            }
        }
        Ok(Filing {
            entry_number: required_text(&d, intern!(py, "entry_number"))?,
            entry_type: required_text(&d, intern!(py, "entry_type"))?,
            port_code: required_text(&d, intern!(py, "port_code"))?,
            ior_number: required_text(&d, intern!(py, "ior_number"))?,
            broker_filer_code: text(&d, intern!(py, "broker_filer_code"))?,
            bond,
            entered_value_usd: number(&d, intern!(py, "entered_value_usd"))?.unwrap_or(0.0),
            duties_taxes_fees_usd: number(&d, intern!(py, "duties_taxes_fees_usd"))?,
            export_declaration_ref: text(&d, intern!(py, "export_declaration_ref"))?,
            supply_chain_cert_ref: text(&d, intern!(py, "supply_chain_cert_ref"))?,
            lines,
            revision: value(&d, intern!(py, "revision"))?
                .map(|v| v.extract())
                .transpose()?
                .unwrap_or(0),
            shipper_name: text(&d, intern!(py, "shipper_name"))?,
            shipper_country: text(&d, intern!(py, "shipper_country"))?,
            given: 0,
        })
    }
}
