-- Which campanile may still run against the schema a migration leaves: `readable_from` is the
-- oldest schema version whose binaries read and write it correctly. An additive migration (a
-- new table, a nullable column, an index) leaves it at the version before it, so replicas one
-- release behind keep running during a rolling upgrade; rows from before this column are
-- readable only by binaries that know them.
ALTER TABLE campanile.schema_migrations ADD COLUMN readable_from integer;
