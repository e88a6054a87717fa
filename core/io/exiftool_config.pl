# ExifTool user configuration: the Keepers private XMP namespace (prefix "keepers").
# Loaded by keepers.core.exiftool for every exiftool process Keepers starts; other tools keep these properties
# as foreign data (darktable keeps namespaces it does not know: ../shared/research/hosts-xmp.md A.5).
%Image::ExifTool::UserDefined = (
    'Image::ExifTool::XMP::Main' => {
        keepers => {
            SubDirectory => { TagTable => 'Image::ExifTool::UserDefined::keepers' },
        },
        darktable => {
            SubDirectory => { TagTable => 'Image::ExifTool::UserDefined::darktable' },
        },
    },
);
# darktable's namespace (exiftool 12.57 has no table for it): only the properties Keepers reads or writes are
# named here; every other darktable property (history, masks) is still read and kept as unknown XMP.
%Image::ExifTool::UserDefined::darktable = (
    GROUPS    => { 0 => 'XMP', 1 => 'XMP-darktable', 2 => 'Image' },
    NAMESPACE => { 'darktable' => 'http://darktable.sf.net/' },
    WRITABLE  => 'string',
    colorlabels => { Name => 'DarktableColorLabels', List => 'Seq', Writable => 'integer' }, # 0 red .. 4 purple
    xmp_version => { Name => 'DarktableXmpVersion', Writable => 'integer' }, # present: darktable wrote it
);
%Image::ExifTool::UserDefined::keepers = (
    GROUPS    => { 0 => 'XMP', 1 => 'XMP-keepers', 2 => 'Image' },
    NAMESPACE => { 'keepers' => 'http://ns.keepers.photo/xmp/1.0/' },
    WRITABLE  => 'string',
    Score        => { Writable => 'real' },    # 1-10
    Verdict      => { },                       # good | bad
    Confidence   => { Writable => 'real' },    # 0-1
    Stars        => { Writable => 'integer' }, # -1 (reject) .. 5, as Keepers decided
    RatingSet    => { Writable => 'integer' }, # the xmp:Rating Keepers itself wrote last; absent if it never did
    Reasons      => { List => 'Seq' },         # "code (-2.8): message", what moved the score first
    ReasonCodes  => { List => 'Bag' },
    KeywordsAdded => { List => 'Bag' },        # the keywords Keepers added (the only ones it may remove)
    Group        => { },                       # burst / near-duplicate group id
    GroupKind    => { },                       # burst | bracket | panorama | focus_stack | duplicate
    Pick         => { Writable => 'boolean' }, # best of its group
    JudgedBy     => { },                       # which model judged it: portrait | landscape | technical ...
    Analyzers    => { List => 'Bag' },         # "name=version" of every analyzer that ran
    AnalyzedAt   => { Writable => 'date' },
    Version      => { },                       # Keepers version that wrote this
    PropertiesSet => { List => 'Bag' },        # "prefix:Name=value" for each label Keepers set last (its to change)
    Overruled    => { List => 'Bag' },         # what Keepers set and the photographer changed or removed: "xmp:Rating",
                                               # "xmp:Label"..., keyword entries as in KeywordsAdded; never set again
    Host         => { },                       # which host adapter wrote this: generic | lightroom | darktable | digikam
    Timeline     => { List => 'Seq' },         # a video's per-second scores, "<second>s=<score>"
);
1;
