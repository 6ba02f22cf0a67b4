import { JsonInput, NumberInput, PasswordInput, Select, Stack, Switch, TextInput } from '@mantine/core';
import type { Json } from '../api';

/**
 * A form generated from a plugin's config schema (JSON Schema, `GET /v1/destination-types`): a field per property,
 * by type; `secret: true` properties as password inputs; objects and arrays as JSON. The server checks the result
 * against the same schema and names the field of any error.
 */
export function SchemaForm({
  schema,
  value,
  onChange,
}: {
  schema: Json;
  value: Record<string, unknown>;
  onChange(value: Record<string, unknown>): void;
}) {
  const required = new Set<string>(schema?.required ?? []);
  const set = (k: string, v: unknown) => {
    const next = { ...value };
    if (v === undefined || v === '') delete next[k];
    else next[k] = v;
    onChange(next);
  };
  return (
    <Stack gap="xs">
      {Object.entries((schema?.properties ?? {}) as Record<string, Json>).map(([k, p]) => {
        const label = p.title ?? k;
        const common = { label, description: p.description, required: required.has(k) };
        const type = Array.isArray(p.type) ? p.type.find((x: string) => x !== 'null') : p.type;
        const options = p.enum ?? p.anyOf?.map((x: Json) => x.const).filter((x: unknown) => x !== undefined);
        if (options?.length)
          return (
            <Select
              key={k}
              {...common}
              data={options.map(String)}
              value={value[k] === undefined ? null : String(value[k])}
              onChange={(v) => set(k, v ?? undefined)}
            />
          );
        if (type === 'boolean')
          return (
            <Switch
              key={k}
              label={label}
              description={p.description}
              checked={Boolean(value[k] ?? p.default)}
              onChange={(e) => set(k, e.currentTarget.checked)}
            />
          );
        if (type === 'integer' || type === 'number')
          return (
            <NumberInput
              key={k}
              {...common}
              value={(value[k] as number | undefined) ?? ''}
              placeholder={p.default === undefined ? undefined : String(p.default)}
              onChange={(v) => set(k, v === '' ? undefined : Number(v))}
            />
          );
        if (type === 'string')
          return p.secret ? (
            <PasswordInput
              key={k}
              {...common}
              value={(value[k] as string | undefined) ?? ''}
              onChange={(e) => set(k, e.currentTarget.value)}
            />
          ) : (
            <TextInput
              key={k}
              {...common}
              value={(value[k] as string | undefined) ?? ''}
              placeholder={p.default === undefined ? undefined : String(p.default)}
              onChange={(e) => set(k, e.currentTarget.value)}
            />
          );
        return (
          <JsonInput
            key={k}
            {...common}
            autosize
            minRows={2}
            defaultValue={value[k] === undefined ? '' : JSON.stringify(value[k], null, 2)}
            onBlur={(e) => {
              try {
                set(k, e.currentTarget.value.trim() ? JSON.parse(e.currentTarget.value) : undefined);
              } catch {
                // the JSON input shows its own error
              }
            }}
          />
        );
      })}
    </Stack>
  );
}
