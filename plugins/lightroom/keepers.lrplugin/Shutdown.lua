-- LrShutdownPlugin: Lightroom quits or the plug-in is unloaded; the background loop stops (within a second, or once
-- the run it is in has ended), then Lightroom is told it may go on
local LrTasks = import "LrTasks"

return {
  LrShutdownFunction = function(doneFunction, progressFunction)
    local Auto = require "Auto"
    Auto.stopping = true
    LrTasks.startAsyncTask(function()
      while Auto.running do LrTasks.sleep(0.1) end
      progressFunction(1)
      doneFunction()
    end)
  end,
}
