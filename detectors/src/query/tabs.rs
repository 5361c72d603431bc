//! The views of one time window, shared by the web and terminal interfaces so that both
//! offer the same ones, in the same order, under the same names.

/// A view of one profile's time window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowTab {
    Timeline,
    FlowsOut,
    FlowsIn,
    Evidence,
    Alerts,
}

impl WindowTab {
    pub const ALL: [WindowTab; 5] = [
        WindowTab::Timeline,
        WindowTab::FlowsOut,
        WindowTab::FlowsIn,
        WindowTab::Evidence,
        WindowTab::Alerts,
    ];

    /// What a person reads.
    pub fn title(self) -> &'static str {
        match self {
            WindowTab::Timeline => "Timeline",
            WindowTab::FlowsOut => "Flows out",
            WindowTab::FlowsIn => "Flows in",
            WindowTab::Evidence => "Evidence",
            WindowTab::Alerts => "Alerts",
        }
    }

    /// A short name for addresses (`?tab=out`).
    pub fn key(self) -> &'static str {
        match self {
            WindowTab::Timeline => "timeline",
            WindowTab::FlowsOut => "out",
            WindowTab::FlowsIn => "in",
            WindowTab::Evidence => "evidence",
            WindowTab::Alerts => "alerts",
        }
    }

    pub fn parse(key: &str) -> Option<WindowTab> {
        WindowTab::ALL.into_iter().find(|t| t.key() == key)
    }

    pub fn index(self) -> usize {
        WindowTab::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }

    /// The next tab (`forward`) or the previous one, wrapping around.
    pub fn step(self, forward: bool) -> WindowTab {
        let n = WindowTab::ALL.len();
        let i = self.index();
        WindowTab::ALL[if forward {
            (i + 1) % n
        } else {
            (i + n - 1) % n
        }]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_back_and_steps_wrap() {
        for t in WindowTab::ALL {
            assert_eq!(WindowTab::parse(t.key()), Some(t));
            assert_eq!(t.step(true).step(false), t);
        }
        assert_eq!(WindowTab::parse("nope"), None);
        assert_eq!(WindowTab::Alerts.step(true), WindowTab::Timeline);
        assert_eq!(WindowTab::Timeline.step(false), WindowTab::Alerts);
    }
}
