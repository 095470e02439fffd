export * from "./alerts";
export * from "./weatherService";
export * from "./orchestration";
export * from "./formSender/formSenderBatch";
export * from "./syncScheduler";
