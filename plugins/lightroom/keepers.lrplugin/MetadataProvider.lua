--[[ Catalog-only fields: what Keepers said (shown in the Metadata panel, searchable) and what it set last, so a
rating, flag or label the photographer changed is never overwritten. ]]

return {
  schemaVersion = 1,
  metadataFieldsForPhotos = {
    { id = "score", title = "Keepers score", dataType = "string", readOnly = true, searchable = true, browsable = true },
    { id = "verdict", title = "Keepers verdict", dataType = "string", readOnly = true, searchable = true,
      browsable = true },
    { id = "reasons", title = "Keepers reasons", dataType = "string", readOnly = true, searchable = true },
    { id = "group", title = "Keepers group", dataType = "string", readOnly = true, searchable = true, browsable = true },
    -- no title: internal, not shown
    { id = "ratingSet", dataType = "string" },
    { id = "pickSet", dataType = "string" },
    { id = "labelSet", dataType = "string" },
  },
}
