//! Routing: which routes of the tree an alert belongs to (Alertmanager's matching rules,
//! including `continue`), and the per-route settings grouping and notification use.
//! Which *receivers* are told is decided later, per group, by the route's plugin.

use std::sync::Arc;

use crate::config::{GroupBy, RouteConfig};
use crate::model::Labels;

/// Index of a route in the [`RouteTable`].
pub type RouteId = usize;

/// One route, flattened out of the tree.
#[derive(Debug)]
pub struct Route {
    pub id: RouteId,
    pub config: RouteConfig,
    children: Vec<RouteId>,
}

impl Route {
    /// The values of the route's group-by labels in `labels` (absent labels left out, as in
    /// Alertmanager).
    pub fn group_labels(&self, labels: &Labels) -> Labels {
        match &self.config.group_by {
            GroupBy::All => labels.clone(),
            GroupBy::Labels(names) => Labels::from_pairs(
                names
                    .iter()
                    .filter_map(|n| labels.get(n).map(|v| (n.as_str(), v))),
            ),
        }
    }

    /// Alertmanager's group key: route key, then the group labels.
    pub fn group_key(&self, group_labels: &Labels) -> String {
        format!("{}:{}", self.config.key, group_labels)
    }
}

/// The routing tree, flattened; route 0 is the root.
#[derive(Debug)]
pub struct RouteTable {
    routes: Vec<Arc<Route>>,
}

impl RouteTable {
    pub fn new(root: &RouteConfig) -> Self {
        let mut routes = Vec::new();
        flatten(root, &mut routes);
        RouteTable {
            routes: routes.into_iter().map(Arc::new).collect(),
        }
    }

    pub fn get(&self, id: RouteId) -> &Arc<Route> {
        &self.routes[id]
    }

    pub fn by_name(&self, name: &str) -> Option<&Arc<Route>> {
        self.routes.iter().find(|r| r.config.name == name)
    }

    pub fn all(&self) -> &[Arc<Route>] {
        &self.routes
    }

    /// The routes an alert with these labels belongs to, in tree order. Never empty: the
    /// root matches everything.
    pub fn matching(&self, labels: &Labels) -> Vec<RouteId> {
        let mut out = Vec::with_capacity(1);
        self.match_into(0, labels, &mut out);
        out
    }

    fn match_into(&self, id: RouteId, labels: &Labels, out: &mut Vec<RouteId>) -> bool {
        let route = &self.routes[id];
        if !route.config.matchers.iter().all(|m| m.matches(labels)) {
            return false;
        }
        let before = out.len();
        for &child in &route.children {
            if self.match_into(child, labels, out) && !self.routes[child].config.continue_matching {
                break;
            }
        }
        if out.len() == before {
            out.push(id);
        }
        true
    }
}

fn flatten(node: &RouteConfig, out: &mut Vec<Route>) -> RouteId {
    let id = out.len();
    let mut config = node.clone();
    config.routes = Vec::new();
    out.push(Route {
        id,
        config,
        children: Vec::new(),
    });
    let children = node.routes.iter().map(|c| flatten(c, out)).collect();
    out[id].children = children;
    id
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use std::path::Path;

    fn table(routes: &str) -> RouteTable {
        let toml = format!(
            "[[receivers]]\nname = \"r\"\ntype = \"log\"\n[route]\nreceiver = \"r\"\ngroup_by = [\"alertname\"]\n{routes}"
        );
        RouteTable::new(&Config::parse(&toml, "t", Path::new(".")).unwrap().route)
    }

    fn names(t: &RouteTable, labels: &[(&str, &str)]) -> Vec<String> {
        t.matching(&Labels::from_pairs(labels.iter().copied()))
            .into_iter()
            .map(|id| t.get(id).config.name.clone())
            .collect()
    }

    const TREE: &str = r#"
[[route.routes]]
name = "db"
matchers = ['team="db"']
continue = true
[[route.routes.routes]]
name = "db-crit"
matchers = ['severity="critical"']
[[route.routes]]
name = "critical"
matchers = ['severity=~"critical|page"']
[[route.routes]]
name = "db-again"
matchers = ['team="db"']
"#;

    #[test]
    fn first_match_wins_unless_continue() {
        let t = table(TREE);
        assert_eq!(
            names(&t, &[("team", "db"), ("severity", "critical")]),
            ["db-crit", "critical"]
        );
        assert_eq!(
            names(&t, &[("team", "db"), ("severity", "info")]),
            ["db", "db-again"]
        );
        assert_eq!(names(&t, &[("severity", "page")]), ["critical"]);
        assert_eq!(names(&t, &[("team", "web")]), ["root"]);
    }

    #[test]
    fn group_key_and_labels() {
        let t = table(TREE);
        let route = t.get(t.matching(&Labels::from_pairs([("severity", "page")]))[0]);
        let labels = Labels::from_pairs([("alertname", "X"), ("severity", "page")]);
        let gl = route.group_labels(&labels);
        assert_eq!(gl, Labels::from_pairs([("alertname", "X")]));
        assert_eq!(
            route.group_key(&gl),
            r#"{}/{severity=~"critical|page"}:{alertname="X"}"#
        );
    }
}
