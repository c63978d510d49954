//! A throttle rule: failures allowed free within a window, then each further
//! attempt waits a delay that doubles up to a cap.

/// One throttle: failures allowed free within the window, then a doubling delay.
#[derive(Debug, Clone, Copy)]
pub struct ThrottleRule {
    pub free_failures: u64,
    pub max_delay: i64,
    pub window: i64,
}

impl ThrottleRule {
    /// Seconds to wait after the `failures`-th failure.
    pub fn delay_after(&self, failures: u64) -> i64 {
        if failures <= self.free_failures {
            return 0;
        }
        let step = (failures - self.free_failures - 1).min(30) as u32;
        2i64.saturating_pow(step).min(self.max_delay)
    }
}

#[cfg(test)]
mod tests {
    use super::ThrottleRule;

    #[test]
    fn delays_double_after_the_free_failures_up_to_the_cap() {
        let r = ThrottleRule {
            free_failures: 5,
            max_delay: 60,
            window: 900,
        };
        let delays: Vec<i64> = (1..=13).map(|f| r.delay_after(f)).collect();
        assert_eq!(delays, [0, 0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(r.delay_after(u64::MAX), 60);
    }
}
