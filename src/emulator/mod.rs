//! The in-process ToolBridge API emulator (being written).
