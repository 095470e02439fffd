export * from "./alerts";
export * from "./weatherService";
export * from "./orchestration";
export * from "./formSenderBatch";
export * from "./syncScheduler";
