//! Per-IOR entry counts over a sliding 30-day window: `screening.activity.ActivityCounter`
//! compiled, with the same methods and the same results (a property test applies random
//! sequences of operations to both). The hot path counts each filing without a Python call,
//! and the worker's loop writes the activity changelog with `put_changelog` (native only).

use pyo3::exceptions::PyValueError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{
    PyDateAccess, PyDateTime, PyDelta, PyDeltaAccess, PyDict, PyString, PyTzInfoAccess,
};
use rustc_hash::FxHashMap;

use crate::json;
use crate::records::OutputBatches;

const WINDOW_DAYS: i64 = 30;

/// Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's days_from_civil).
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = (if y >= 0 { y } else { y - 399 }) / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The Python counter's `_day`: the calendar date for a naive or zero-offset time, else
/// `int(at.timestamp()) // 86400` (truncated, then floored).
fn day_of(at: &Bound<'_, PyAny>) -> PyResult<i64> {
    let py = at.py();
    let dt = at
        .downcast::<PyDateTime>()
        .map_err(|_| PyValueError::new_err("expected a datetime"))?;
    let offset = match dt.get_tzinfo() {
        None => None,
        Some(tz) => {
            let delta = tz.call_method1(intern!(py, "utcoffset"), (dt,))?;
            match delta.downcast::<PyDelta>() {
                Ok(d) => Some(
                    (d.get_days() as i64 * 86_400 + d.get_seconds() as i64) * 1_000_000
                        + d.get_microseconds() as i64,
                ),
                Err(_) => None,
            }
        }
    };
    if offset.unwrap_or(0) == 0 {
        return Ok(days_from_civil(
            dt.get_year() as i64,
            dt.get_month() as i64,
            dt.get_day() as i64,
        ));
    }
    let timestamp: f64 = at.call_method0(intern!(py, "timestamp"))?.extract()?;
    Ok((timestamp.trunc() as i64).div_euclid(86_400))
}

#[pyclass(module = "screening_native")]
#[derive(Default)]
pub struct ActivityCounter {
    // IOR number -> (day, entries) in the order the days were first counted
    days: FxHashMap<String, Vec<(i64, i64)>>,
}

impl ActivityCounter {
    pub fn record_day(&mut self, ior_number: &str, day: i64) {
        let Some(buckets) = self.days.get_mut(ior_number) else {
            self.days.insert(ior_number.to_owned(), vec![(day, 1)]);
            return;
        };
        match buckets.iter_mut().find(|(d, _)| *d == day) {
            Some((_, n)) => *n += 1,
            None => buckets.push((day, 1)),
        }
        if buckets.len() as i64 > WINDOW_DAYS + 1 {
            let newest = buckets.iter().map(|(d, _)| *d).max().expect("not empty");
            buckets.retain(|(d, _)| *d > newest - WINDOW_DAYS);
        }
    }

    pub fn record_at(&mut self, ior_number: &str, at: &Bound<'_, PyAny>) -> PyResult<()> {
        let day = day_of(at)?;
        self.record_day(ior_number, day);
        Ok(())
    }

    pub fn in_window(&self, ior_number: &str, day: i64) -> i64 {
        match self.days.get(ior_number) {
            None => 0,
            Some(buckets) => buckets
                .iter()
                .filter(|(d, _)| day - WINDOW_DAYS < *d && *d <= day)
                .map(|(_, n)| *n)
                .sum(),
        }
    }
}

#[pymethods]
impl ActivityCounter {
    #[new]
    fn new() -> Self {
        ActivityCounter::default()
    }

    fn record(&mut self, ior_number: &str, at: &Bound<'_, PyAny>) -> PyResult<()> {
        self.record_at(ior_number, at)
    }

    fn entries_in_window(&self, ior_number: &str, at: &Bound<'_, PyAny>) -> PyResult<i64> {
        if !self.days.contains_key(ior_number) {
            return Ok(0);
        }
        Ok(self.in_window(ior_number, day_of(at)?))
    }

    /// Take back one entry recorded at `at` (a replayed batch is counted again).
    fn remove(&mut self, ior_number: &str, at: &Bound<'_, PyAny>) -> PyResult<()> {
        let day = day_of(at)?;
        if let Some(buckets) = self.days.get_mut(ior_number) {
            if let Some((_, n)) = buckets.iter_mut().find(|(d, _)| *d == day) {
                if *n > 0 {
                    *n -= 1;
                }
            }
        }
        Ok(())
    }

    /// The IOR's day buckets (days since the epoch -> entries), for a changelog.
    fn buckets<'py>(&self, py: Python<'py>, ior_number: &str) -> PyResult<Bound<'py, PyDict>> {
        let out = PyDict::new(py);
        if let Some(buckets) = self.days.get(ior_number) {
            for (day, n) in buckets {
                out.set_item(day, n)?;
            }
        }
        Ok(out)
    }

    /// `ChangelogTable.put` of each touched IOR's buckets (`touched`: IOR number ->
    /// partition): the buckets put into the table's containers (`values`: partition ->
    /// IOR number -> buckets; `where_`: IOR number -> partition) and its changelog record,
    /// `{"<day>":<entries>,...}` as the table's encoder writes it, added to `into`. The
    /// loop did this in Python for every IOR of every batch.
    fn put_changelog(
        &self,
        py: Python<'_>,
        touched: &Bound<'_, PyDict>,
        into: &Bound<'_, OutputBatches>,
        topic: &str,
        values: &Bound<'_, PyDict>,
        where_: &Bound<'_, PyDict>,
    ) -> PyResult<()> {
        let mut record = Vec::with_capacity(256);
        let mut into = into.borrow_mut();
        for (ior_number, partition) in touched.iter() {
            let text = ior_number.downcast::<PyString>()?.to_str()?;
            let buckets = self.buckets(py, text)?;
            crate::partition_values(values, &partition)?.set_item(&ior_number, buckets)?;
            where_.set_item(&ior_number, &partition)?;
            record.clear();
            record.push(b'{');
            for (i, (day, n)) in self.days.get(text).into_iter().flatten().enumerate() {
                if i > 0 {
                    record.push(b',');
                }
                record.push(b'"');
                json::push_int(&mut record, *day);
                record.extend_from_slice(b"\":");
                json::push_int(&mut record, *n);
            }
            record.push(b'}');
            into.push(
                py,
                topic,
                partition.extract::<i64>()?,
                Some(text.as_bytes()),
                Some(&record),
                &[],
            )?;
        }
        Ok(())
    }

    fn load(&mut self, ior_number: &str, buckets: &Bound<'_, PyDict>) -> PyResult<()> {
        let mut days = Vec::with_capacity(buckets.len());
        for (day, n) in buckets.iter() {
            days.push((day.extract()?, n.extract()?));
        }
        self.days.insert(ior_number.to_owned(), days);
        Ok(())
    }

    fn forget(&mut self, ior_number: &str) {
        self.days.remove(ior_number);
    }

    fn __len__(&self) -> usize {
        self.days.len()
    }
}
