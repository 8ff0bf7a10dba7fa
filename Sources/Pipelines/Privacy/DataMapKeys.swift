import Runner

/// The keys `policy/data-map.yaml` may hold, its retention section included (`PolicyKeys`): a
/// misspelt `max_fracton:` would leave a destructive job's guard at its default, a second
/// `orders:` would silently replace the first table's mapping.
enum DataMapKeys {
    static let erasure = PolicyKeys.fixed([
        "action": .leaf, "columns": .named(.leaf), "legal_basis": .leaf, "period": .leaf, "owner": .leaf,
        "if_referenced": .named(.leaf),
    ])
    static let table = PolicyKeys.fixed([
        "reach": .leaf, "ids_without_foreign_key": .leaf, "personal": .named(.leaf), "storage": .leaf,
        "withheld": .named(.leaf), "erasure": erasure, "facts": .named(.leaf), "facts_ar": .named(.leaf),
        "withheld_ar": .named(.leaf), "not_personal": .leaf,
        "about": .fixed(["column": .leaf, "kind": .leaf, "kinds": .named(.leaf)]),
        "pseudonym": .leaves(["column", "salt_file_env"]), "reach_json": .list(.leaves(["column", "path", "matches"])),
        "json_personal_keys": .named(.leaf), "json_not_personal_keys": .named(.leaf),
    ])
    static let rule = PolicyKeys.leaves([
        "table", "age", "keep_days", "floor_days", "expiry", "where", "media", "storage", "orphans", "max_fraction",
        "drop_partitions",
    ])
    static let retention = PolicyKeys.fixed([
        "time_zone": .leaf, "batch_size": .leaf, "pause_ms": .leaf, "workers": .leaf, "max_fraction": .leaf,
        "max_clock_skew_seconds": .leaf, "orphan_grace_hours": .leaf, "legal_records": .named(.leaf),
        "rules": .named(rule),
    ])
    static let file = PolicyKeys.fixed([
        "subject": .leaf, "tables": .named(table), "excluded": .named(.leaf), "not_personal": .named(.leaf),
        "retention": retention, "recipients": .named(.leaves(["kind", "role", "tables"])),
    ])
}
