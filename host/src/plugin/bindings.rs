//! The one `bindgen!` for the WIT contract in `wit/`. Everything generated lives here; the
//! rest of the host converts to and from these types at the edge (`convert`).

wasmtime::component::bindgen!({
    world: "router",
    path: "../wit",
});

pub use self::campanile::router::host::Level;
pub use self::campanile::router::types;
