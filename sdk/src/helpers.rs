//! Convenience methods on the contract types.

use crate::{Action, Alert, AlertStatus, Group, Notify, Severity};

impl Alert {
    /// The value of the label `name`, or `None` if the alert has no such label.
    ///
    /// ```
    /// use campanile_sdk::testing;
    ///
    /// let alert = testing::alert(&[("alertname", "Down"), ("team", "db")]);
    /// assert_eq!(alert.label("team"), Some("db"));
    /// assert_eq!(alert.label("missing"), None);
    /// ```
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels.get(name)
    }

    /// The value of the annotation `name` (`summary`, `runbook_url`, ...), if present.
    ///
    /// ```
    /// use campanile_sdk::testing;
    ///
    /// let mut alert = testing::alert(&[("alertname", "Down")]);
    /// alert.annotations.insert("summary", "the database is down");
    /// assert_eq!(alert.annotation("summary"), Some("the database is down"));
    /// assert_eq!(alert.annotation("description"), None);
    /// ```
    pub fn annotation(&self, name: &str) -> Option<&str> {
        self.annotations.get(name)
    }

    /// The alert's name: its `alertname` label, if present.
    ///
    /// ```
    /// use campanile_sdk::testing;
    ///
    /// assert_eq!(testing::alert(&[("alertname", "Down")]).name(), Some("Down"));
    /// ```
    pub fn name(&self) -> Option<&str> {
        self.label("alertname")
    }

    /// Whether the alert is still firing.
    ///
    /// ```
    /// use campanile_sdk::testing;
    ///
    /// assert!(testing::alert(&[("alertname", "Down")]).is_firing());
    /// assert!(!testing::resolved_alert(&[("alertname", "Down")]).is_firing());
    /// ```
    pub fn is_firing(&self) -> bool {
        self.status == AlertStatus::Firing
    }

    /// The severity named by the alert's `severity` label (see [`Severity::from_label`]);
    /// `None` if the label is missing or unknown.
    ///
    /// ```
    /// use campanile_sdk::{testing, Severity};
    ///
    /// assert_eq!(testing::alert(&[("severity", "Warning")]).severity(), Some(Severity::Warning));
    /// assert_eq!(testing::alert(&[("severity", "meh")]).severity(), None);
    /// ```
    pub fn severity(&self) -> Option<Severity> {
        self.label("severity").and_then(Severity::from_label)
    }
}

impl Group {
    /// The value of the group label `name`: one of the labels the route groups by.
    ///
    /// ```
    /// use campanile_sdk::testing;
    ///
    /// let mut group = testing::group(vec![testing::alert(&[("alertname", "Down")])]);
    /// group.group_labels.insert("alertname", "Down");
    /// assert_eq!(group.label("alertname"), Some("Down"));
    /// assert_eq!(group.label("cluster"), None);
    /// ```
    pub fn label(&self, name: &str) -> Option<&str> {
        self.group_labels.get(name)
    }

    /// Whether an operator has acknowledged the group.
    ///
    /// ```
    /// use campanile_sdk::testing;
    ///
    /// let mut group = testing::group(vec![testing::alert(&[("alertname", "Down")])]);
    /// assert!(!group.is_acknowledged());
    /// group.acknowledged = Some(testing::acknowledgement("bob"));
    /// assert!(group.is_acknowledged());
    /// ```
    pub fn is_acknowledged(&self) -> bool {
        self.acknowledged.is_some()
    }

    /// When the group was first told to anyone (ms since the Unix epoch), if ever, as far as its
    /// history (the last 64 notifications) reaches.
    ///
    /// ```
    /// use campanile_sdk::{testing, time, NotifyReason};
    ///
    /// let mut group = testing::group(vec![testing::alert(&[("alertname", "Down")])]);
    /// assert_eq!(group.first_sent_at(), None);
    /// group.sent.push(testing::sent("chat", NotifyReason::First, 90_000));
    /// group.sent.push(testing::sent("pager", NotifyReason::Wake, 30_000));
    /// assert_eq!(group.first_sent_at(), Some(time::now_ms() - 90_000));
    /// ```
    pub fn first_sent_at(&self) -> Option<i64> {
        self.sent.iter().map(|s| s.at).min()
    }

    /// Whether `receiver` was told about this group before.
    ///
    /// ```
    /// use campanile_sdk::{testing, NotifyReason};
    ///
    /// let mut group = testing::group(vec![testing::alert(&[("alertname", "Down")])]);
    /// group.sent.push(testing::sent("chat", NotifyReason::First, 1_000));
    /// assert!(group.was_sent_to("chat"));
    /// assert!(!group.was_sent_to("pager"));
    /// ```
    pub fn was_sent_to(&self, receiver: &str) -> bool {
        self.sent.iter().any(|s| s.receiver == receiver)
    }

    /// The value of the label `name` if every alert of the group has it with the same value.
    ///
    /// ```
    /// use campanile_sdk::testing;
    ///
    /// let group = testing::group(vec![
    ///     testing::alert(&[("alertname", "Down"), ("team", "db"), ("instance", "a")]),
    ///     testing::alert(&[("alertname", "Down"), ("team", "db"), ("instance", "b")]),
    /// ]);
    /// assert_eq!(group.common_label("team"), Some("db"));
    /// assert_eq!(group.common_label("instance"), None);
    /// ```
    pub fn common_label(&self, name: &str) -> Option<&str> {
        self.common_labels.get(name)
    }

    /// The alerts that are still firing.
    ///
    /// ```
    /// use campanile_sdk::testing;
    ///
    /// let group = testing::group(vec![
    ///     testing::alert(&[("alertname", "A")]),
    ///     testing::resolved_alert(&[("alertname", "B")]),
    /// ]);
    /// let firing: Vec<_> = group.firing().filter_map(|alert| alert.name()).collect();
    /// assert_eq!(firing, ["A"]);
    /// ```
    pub fn firing(&self) -> impl Iterator<Item = &Alert> + '_ {
        self.alerts.iter().filter(|alert| alert.is_firing())
    }

    /// The alerts that have resolved.
    ///
    /// ```
    /// use campanile_sdk::testing;
    ///
    /// let group = testing::group(vec![
    ///     testing::alert(&[("alertname", "A")]),
    ///     testing::resolved_alert(&[("alertname", "B")]),
    /// ]);
    /// let resolved: Vec<_> = group.resolved().filter_map(|alert| alert.name()).collect();
    /// assert_eq!(resolved, ["B"]);
    /// ```
    pub fn resolved(&self) -> impl Iterator<Item = &Alert> + '_ {
        self.alerts.iter().filter(|alert| !alert.is_firing())
    }

    /// The most urgent severity named by the `severity` labels of the group's firing alerts,
    /// or of all its alerts when none fires any more (see [`Severity::from_label`]).
    ///
    /// Alerts without a `severity` label, or with an unknown one, are ignored; `None` means no
    /// alert considered has a known severity.
    ///
    /// ```
    /// use campanile_sdk::{testing, Severity};
    ///
    /// let group = testing::group(vec![
    ///     testing::alert(&[("alertname", "A"), ("severity", "warning")]),
    ///     testing::alert(&[("alertname", "B"), ("severity", "info")]),
    ///     testing::resolved_alert(&[("alertname", "C"), ("severity", "critical")]),
    /// ]);
    /// assert_eq!(group.highest_severity(), Some(Severity::Warning));
    ///
    /// let quiet = testing::group(vec![testing::alert(&[("alertname", "A"), ("severity", "?")])]);
    /// assert_eq!(quiet.highest_severity(), None);
    /// ```
    pub fn highest_severity(&self) -> Option<Severity> {
        let firing = self.firing().filter_map(Alert::severity).min();
        if self.firing().next().is_some() {
            firing
        } else {
            self.alerts.iter().filter_map(Alert::severity).min()
        }
    }
}

impl Severity {
    /// Reads a `severity` label value, ignoring case and surrounding spaces: `critical` and
    /// `page` are [`Severity::Critical`]; `warning` and `warn` are [`Severity::Warning`];
    /// `error` and `info` are what they say; anything else is `None`. The host reads labels by
    /// the same rule (the severity it gives receivers when a plugin sets none).
    ///
    /// ```
    /// use campanile_sdk::Severity;
    ///
    /// assert_eq!(Severity::from_label("critical"), Some(Severity::Critical));
    /// assert_eq!(Severity::from_label("Page"), Some(Severity::Critical));
    /// assert_eq!(Severity::from_label("ERROR"), Some(Severity::Error));
    /// assert_eq!(Severity::from_label("warning"), Some(Severity::Warning));
    /// assert_eq!(Severity::from_label(" warn "), Some(Severity::Warning));
    /// assert_eq!(Severity::from_label("info"), Some(Severity::Info));
    /// assert_eq!(Severity::from_label("debug"), None);
    /// ```
    pub fn from_label(value: &str) -> Option<Severity> {
        const NAMES: [(&str, Severity); 6] = [
            ("critical", Severity::Critical),
            ("page", Severity::Critical),
            ("error", Severity::Error),
            ("warning", Severity::Warning),
            ("warn", Severity::Warning),
            ("info", Severity::Info),
        ];
        let value = value.trim();
        NAMES
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(value))
            .map(|&(_, severity)| severity)
    }

    /// The lowercase name of the severity, as in the WIT contract.
    ///
    /// ```
    /// use campanile_sdk::Severity;
    ///
    /// assert_eq!(Severity::Warning.as_str(), "warning");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

impl std::fmt::Display for Severity {
    /// Writes [`Severity::as_str`].
    ///
    /// ```
    /// use campanile_sdk::Severity;
    ///
    /// assert_eq!(Severity::Critical.to_string(), "critical");
    /// ```
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Action {
    /// Starts a notification of `receiver`, a receiver name from the host's configuration.
    ///
    /// Returns a [`Notify`] to refine with [`Notify::title`], [`Notify::body`] and
    /// [`Notify::severity`]; turn it into an action with `.into()`.
    ///
    /// ```
    /// use campanile_sdk::{Action, Severity};
    ///
    /// let action: Action = Action::notify("oncall")
    ///     .title("Database down")
    ///     .body("primary is unreachable")
    ///     .severity(Severity::Critical)
    ///     .into();
    /// let Action::Notify(notify) = action else { unreachable!() };
    /// assert_eq!(notify.receiver, "oncall");
    /// assert_eq!(notify.title.as_deref(), Some("Database down"));
    /// ```
    pub fn notify(receiver: impl Into<String>) -> Notify {
        Notify::new(receiver)
    }

    /// Deliberately tells nobody about the group; the host logs `reason`.
    ///
    /// ```
    /// use campanile_sdk::Action;
    ///
    /// let action = Action::suppress("maintenance window");
    /// assert_eq!(action, Action::Suppress("maintenance window".to_string()));
    /// ```
    pub fn suppress(reason: impl Into<String>) -> Action {
        Action::Suppress(reason.into())
    }

    /// Asks the host to call [`Router::route`](crate::Router::route) again for this group after
    /// `delay` (whole seconds, at least 1, at most 30 days), with reason
    /// [`NotifyReason::Wake`](crate::NotifyReason::Wake) — unless the group has stopped firing or
    /// is acknowledged by then. Each decision replaces the previous wake-up; a decision without
    /// one cancels it. Wake-ups survive host restarts. This is how escalation is written:
    /// "tell chat now, wake me in 15 minutes; if nobody acknowledged, page".
    ///
    /// ```
    /// use std::time::Duration;
    /// use campanile_sdk::Action;
    ///
    /// assert_eq!(Action::wake_after(Duration::from_secs(900)), Action::WakeAfter(900));
    /// assert_eq!(Action::wake_after(Duration::from_millis(10)), Action::WakeAfter(1));
    /// ```
    pub fn wake_after(delay: std::time::Duration) -> Action {
        Action::WakeAfter(u32::try_from(delay.as_secs()).unwrap_or(u32::MAX).max(1))
    }
}

impl Notify {
    /// A notification of `receiver` with the receiver's default title, body and severity.
    ///
    /// ```
    /// use campanile_sdk::Notify;
    ///
    /// let notify = Notify::new("chat");
    /// assert_eq!(notify.receiver, "chat");
    /// assert_eq!((notify.title, notify.body, notify.severity), (None, None, None));
    /// ```
    pub fn new(receiver: impl Into<String>) -> Notify {
        Notify {
            receiver: receiver.into(),
            title: None,
            body: None,
            severity: None,
        }
    }

    /// Replaces the receiver's default title (subject, summary, headline).
    ///
    /// ```
    /// use campanile_sdk::Action;
    ///
    /// let notify = Action::notify("chat").title("Disk almost full");
    /// assert_eq!(notify.title.as_deref(), Some("Disk almost full"));
    /// ```
    pub fn title(mut self, title: impl Into<String>) -> Notify {
        self.title = Some(title.into());
        self
    }

    /// Replaces the receiver's default body.
    ///
    /// ```
    /// use campanile_sdk::Action;
    ///
    /// let notify = Action::notify("chat").body("see the runbook");
    /// assert_eq!(notify.body.as_deref(), Some("see the runbook"));
    /// ```
    pub fn body(mut self, body: impl Into<String>) -> Notify {
        self.body = Some(body.into());
        self
    }

    /// Replaces the severity the receiver would derive from the alerts.
    ///
    /// ```
    /// use campanile_sdk::{Action, Severity};
    ///
    /// let notify = Action::notify("pager").severity(Severity::Critical);
    /// assert_eq!(notify.severity, Some(Severity::Critical));
    /// ```
    pub fn severity(mut self, severity: Severity) -> Notify {
        self.severity = Some(severity);
        self
    }
}

impl From<Notify> for Action {
    /// Wraps the notification into [`Action::Notify`].
    ///
    /// ```
    /// use campanile_sdk::{Action, Notify};
    ///
    /// let action = Action::from(Notify::new("chat"));
    /// assert!(matches!(action, Action::Notify(n) if n.receiver == "chat"));
    /// ```
    fn from(notify: Notify) -> Action {
        Action::Notify(notify)
    }
}
