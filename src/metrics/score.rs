//! Scoring rules of the museum's performance self-evaluation form (项目支出绩效自评表).
//!
//! Pure arithmetic, kept apart from the report so that each rule is tested on its own.
use crate::config::Direction;

/// The scored result of one quantitative indicator.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Scored {
    /// actual / target (positive) or target / actual (negative), as a fraction.
    pub rate: f64,
    /// Points before any deduction, never above the weight.
    pub raw: f64,
    /// Points deducted because the target was set too low.
    pub deduction: f64,
    /// Final points, rounded to two decimals as the form shows them.
    pub score: f64,
}

/// Scores one indicator.
///
/// - positive: actual / target × weight; negative (cost-like): target / actual × weight;
///   never more than the weight;
/// - a positive target exceeded by (actual − target) / target ∈ [200 %, 300 %) loses 10 % of the
///   weight, [300 %, 500 %) 20 %, ≥ 500 % 30 % (the target was set too low). A negative
///   indicator far over its target already scores low, so no deduction applies to it.
pub fn score(target: f64, actual: f64, weight: f64, direction: Direction) -> Scored {
    let rate = match direction {
        Direction::Positive => actual / target,
        // Spending nothing against a cost target meets it fully.
        Direction::Negative if actual <= 0.0 => 1.0,
        Direction::Negative => target / actual,
    };
    let raw = (rate * weight).min(weight).max(0.0);
    let over = (actual - target) / target;
    let deduction = match direction {
        Direction::Positive if over >= 5.0 => 0.3 * weight,
        Direction::Positive if over >= 3.0 => 0.2 * weight,
        Direction::Positive if over >= 2.0 => 0.1 * weight,
        _ => 0.0,
    };
    Scored { rate, raw, deduction, score: round2((raw - deduction).max(0.0)) }
}

/// Rounds half away from zero to two decimals (the form's precision).
pub fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// The form's overall grade for a total out of 100.
pub fn grade(total: f64) -> (&'static str, &'static str) {
    if total >= 90.0 {
        ("优", "excellent")
    } else if total >= 80.0 {
        ("良", "good")
    } else if total >= 60.0 {
        ("中", "fair")
    } else {
        ("差", "poor")
    }
}

/// The value at fraction `q` of `sorted` values, by nearest rank (p50, p90, p95 of latencies
/// and of times to answer); None for no values.
pub fn percentile<T: Copy>(sorted: &[T], q: f64) -> Option<T> {
    let rank = (q * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted.get(rank.min(sorted.len()).checked_sub(1)?).copied()
}

/// A Wilson score interval (95 %) for `successes` of `n`, as fractions.
pub fn wilson_95(successes: u64, n: u64) -> Option<(f64, f64)> {
    if n == 0 {
        return None;
    }
    let z = 1.959_963_984_540_054_f64;
    let n = n as f64;
    let p = successes as f64 / n;
    let denominator = 1.0 + z * z / n;
    let centre = (p + z * z / (2.0 * n)) / denominator;
    let half = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / denominator;
    Some(((centre - half).max(0.0), (centre + half).min(1.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_forms_own_example_budget_execution() {
        // Budget 146.435 (10 000 yuan), spent 144.306: 144.306 / 146.435 = 0.98546… → 98.55 %,
        // × 10 points = 9.8546… → 9.85.
        let s = score(146.435, 144.306, 10.0, Direction::Positive);
        assert_eq!(round2(s.rate * 100.0), 98.55);
        assert_eq!(s.score, 9.85);
        assert_eq!(s.deduction, 0.0);
    }

    #[test]
    fn a_score_never_exceeds_its_weight() {
        // 150 pushes against 120: 1.25 × 20 = 25 → capped at 20; 25 % over is no "too low" target.
        assert_eq!(score(120.0, 150.0, 20.0, Direction::Positive).score, 20.0);
        // Cost 80 against a cap of 100: 100 / 80 × 10 = 12.5 → 10.
        assert_eq!(score(100.0, 80.0, 10.0, Direction::Negative).score, 10.0);
    }

    #[test]
    fn negative_indicators_score_target_over_actual() {
        // Cost 125 against 100: 100 / 125 × 10 = 8.
        assert_eq!(score(100.0, 125.0, 10.0, Direction::Negative).score, 8.0);
    }

    #[test]
    fn targets_set_too_low_lose_part_of_the_weight() {
        // (300 − 100) / 100 = 200 % → 10 − 1 = 9.
        assert_eq!(score(100.0, 300.0, 10.0, Direction::Positive).score, 9.0);
        // 299.99 % over is still the 10 % band.
        assert_eq!(score(100.0, 399.99, 10.0, Direction::Positive).score, 9.0);
        // (400 − 100) / 100 = 300 % → 10 − 2 = 8.
        assert_eq!(score(100.0, 400.0, 10.0, Direction::Positive).score, 8.0);
        // 500 % → 10 − 3 = 7; and far beyond stays at 30 %.
        assert_eq!(score(100.0, 600.0, 10.0, Direction::Positive).score, 7.0);
        assert_eq!(score(100.0, 5000.0, 10.0, Direction::Positive).score, 7.0);
        // 199 % over: no deduction.
        assert_eq!(score(100.0, 299.0, 10.0, Direction::Positive).score, 10.0);
    }

    #[test]
    fn grades_follow_the_form_bands() {
        assert_eq!(grade(90.0).0, "优");
        assert_eq!(grade(89.99).0, "良");
        assert_eq!(grade(80.0).0, "良");
        assert_eq!(grade(79.99).0, "中");
        assert_eq!(grade(60.0).0, "中");
        assert_eq!(grade(59.99).0, "差");
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let values: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&values, 0.5), Some(50));
        assert_eq!(percentile(&values, 0.95), Some(95));
        assert_eq!(percentile(&[7], 0.95), Some(7));
        assert_eq!(percentile::<u64>(&[], 0.5), None);
        assert_eq!(percentile(&[0.5, 1.5, 40.0], 0.9), Some(40.0));
    }

    #[test]
    fn wilson_interval_matches_a_worked_example() {
        // 90 of 100: centre (0.9 + 1.92/100) / 1.0384 = 0.88524…, half-width
        // 1.96 × sqrt(0.0009 + 0.0000960) / 1.0384 = 0.05958… → [0.8256, 0.9448].
        let (low, high) = wilson_95(90, 100).unwrap();
        assert!((low - 0.8256).abs() < 5e-4 && (high - 0.9448).abs() < 5e-4, "{low} {high}");
        assert_eq!(wilson_95(0, 0), None);
    }
}
