export interface SettingRow {
  key: string;
  version: number;
  value: unknown;
  createdAt: number;
  createdBy: string;
}

/** Versioned business settings (DESIGN §9): every write is a new version; nothing is overwritten. */
export interface SettingsStore {
  latest(key: string): Promise<SettingRow | undefined>;
  /** Writes version latest+1 and returns it. */
  put(key: string, value: unknown, createdBy: string, at: number): Promise<SettingRow>;
  history(key: string): Promise<SettingRow[]>;
}
