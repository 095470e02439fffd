/** sync-batch Lambda: YouTube Data API → CSV → COPY → PostgreSQL. */
export * from "./constants";
export * from "./handler";
export * from "./env";
export * from "./load";
export * from "./log";
export * from "./migrations";
export * from "./rows";
export * from "./secrets";
export * from "./youtube";
