// Types of campanile-sdk/testing: the fake host and builders for `node --test`.
import type { Acknowledgement, Alert, Group, Labels, Level, NotifyReason, Sent } from "./index.js";

export declare const DEFAULT_NOW_MS: number;
export declare function reset(): void;
export declare function setConfig(entries: Record<string, string>): void;
export declare function setNowMs(nowMs: number): void;
export declare function logs(): [Level, string][];
export declare function clearLogs(): void;
export declare function state(): Record<string, string>;
export declare function labels(entries?: Record<string, string> | Iterable<[string, string]>): Labels;
export declare function alert(labels: Record<string, string>, annotations?: Record<string, string>): Alert;
export declare function resolvedAlert(labels: Record<string, string>, annotations?: Record<string, string>): Alert;
export declare function group(alerts?: Alert[]): Group;
export declare function acknowledgement(by: string, comment?: string): Acknowledgement;
export declare function sent(receiver: string, reason: NotifyReason, agoMs: number): Sent;
