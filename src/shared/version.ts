/**
 * Version and commit. The build script stamps WISDOM_VERSION and WISDOM_COMMIT with --define;
 * from a checkout they read as the package version and "dev".
 * @module
 */
import pkg from "../../package.json" with { type: "json" };

declare const WISDOM_COMMIT: string | undefined;
declare const WISDOM_BUILD_DATE: string | undefined;

export const VERSION: string = pkg.version;
export const COMMIT: string = typeof WISDOM_COMMIT === "string" ? WISDOM_COMMIT : "dev";
export const BUILD_DATE: string | null = typeof WISDOM_BUILD_DATE === "string" ? WISDOM_BUILD_DATE : null;
