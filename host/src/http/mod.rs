//! What the HTTP edge's parts share, below both the server (`server/`: listener, connections,
//! router) and the handlers (`api/`): the table of every endpoint (`table`), request bodies
//! within `server.max_body_size` and `server.body_read_timeout` (`body`), and the response
//! shapes — JSON, text, HTML, errors (`respond`). It imports neither.

pub(crate) mod body;
pub(crate) mod respond;
pub(crate) mod table;

pub use respond::{error, html, json, Body};
