export * from "./alerts";
export * from "./weatherService";
export * from "./orchestration";
