--[[ Keepers for Lightroom Classic: rates, flags, labels and keywords photos with the local Keepers daemon
(`keepers serve`). Add this folder in File > Plug-in Manager; the commands are in Library > Plug-in Extras. ]]

return {
  LrSdkVersion = 10.0,
  LrSdkMinimumVersion = 6.0,  -- pickStatus, collections, LrHttp, plugin metadata fields
  LrToolkitIdentifier = "photo.keepers.lightroom",
  LrPluginName = "Keepers",
  LrPluginInfoProvider = "PluginInfoProvider.lua",
  LrMetadataProvider = "MetadataProvider.lua",
  LrInitPlugin = "Init.lua",  -- the background loop for new imports (off until turned on in the settings)
  LrForceInitPlugin = true,  -- start it with Lightroom, not at the first menu command
  LrShutdownPlugin = "Shutdown.lua",
  LrLibraryMenuItems = {
    { title = "Analyze selected photos", file = "AnalyzeSelected.lua", enabledWhen = "photosSelected" },
    { title = "Cull bursts", file = "CullBursts.lua", enabledWhen = "photosSelected" },
    { title = "Find similar", file = "FindSimilar.lua", enabledWhen = "photosSelected" },
    { title = "Send my ratings and flags to Keepers", file = "SendRatings.lua", enabledWhen = "photosSelected" },
    { title = "Apply my choices from the review page", file = "ApplyChoices.lua", enabledWhen = "photosSelected" },
    { title = "Keepers settings...", file = "Settings.lua" },
  },
  VERSION = { major = 0, minor = 2, revision = 0, build = 0 },
}
