export * from "./alerts";
export * from "./weatherService";
