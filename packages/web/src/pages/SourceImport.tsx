import {
  Alert,
  Button,
  Card,
  FileInput,
  Group,
  Progress,
  Select,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useState } from 'react';
import { api, type Json } from '../api';
import { parseCsv } from '../csv';
import { useI18n } from '../i18n';

/** What a column becomes in the `identify` call of its row. */
type Target = 'ignore' | 'userId' | 'anonymousId' | 'trait';
const BATCH = 500;

/**
 * File import (issue 8): a CSV read in the browser, each column mapped to the user id, an anonymous id or a trait,
 * sent as `identify` calls in batches through `POST /v1/sources/{id}/calls` (the same checks, quarantine and
 * de-duplication as the tracking API: the message id is derived from the file name and row), with progress.
 */
export function SourceImport({ sourceId }: { sourceId: string }) {
  const { t, number } = useI18n();
  const [file, setFile] = useState<File | null>(null);
  const [rows, setRows] = useState<string[][]>([]);
  const [mapping, setMapping] = useState<{ target: Target; trait: string }[]>([]);
  const [progress, setProgress] = useState<{ sent: number; accepted: number; quarantined: number } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const header = rows[0] ?? [];
  const data = rows.slice(1);

  const load = async (f: File | null) => {
    setFile(f);
    setProgress(null);
    setError(null);
    if (!f) return setRows([]);
    const parsed = parseCsv(await f.text());
    setRows(parsed);
    setMapping(
      (parsed[0] ?? []).map((h) => {
        const n = h.toLowerCase().replace(/[^a-z]/g, '');
        return { target: n === 'userid' || n === 'id' || n === 'customerid' ? 'userId' : 'trait', trait: h.trim() };
      }),
    );
  };

  const run = async () => {
    setError(null);
    const done = { sent: 0, accepted: 0, quarantined: 0 };
    setProgress({ ...done });
    try {
      for (let i = 0; i < data.length; i += BATCH) {
        const calls = data.slice(i, i + BATCH).map((r, j) => {
          const call: Json = { type: 'identify', messageId: `web-import:${file?.name}:${i + j + 1}`, traits: {} };
          mapping.forEach((m, c) => {
            const v = r[c];
            if (v === undefined || v === '' || m.target === 'ignore') return;
            if (m.target === 'trait') call.traits[m.trait || header[c]] = v;
            else call[m.target] = v;
          });
          return call;
        });
        const answer = await api<Json>('POST', `/v1/sources/${sourceId}/calls`, { calls });
        done.sent += calls.length;
        done.accepted += answer.accepted ?? 0;
        done.quarantined += (answer.quarantined ?? []).length;
        setProgress({ ...done });
      }
    } catch (e) {
      setError((e as Error).message);
    }
  };

  return (
    <Card withBorder>
      <Title order={4} mb="sm">
        {t('import.title')}
      </Title>
      <Stack>
        <FileInput label={t('import.file')} accept=".csv,text/csv" value={file} onChange={load} clearable />
        {header.length > 0 && (
          <Table data-testid="import-mapping">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t('import.column')}</Table.Th>
                <Table.Th>{t('import.example')}</Table.Th>
                <Table.Th>{t('import.target')}</Table.Th>
                <Table.Th>{t('import.trait')}</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {header.map((h, c) => (
                // biome-ignore lint/suspicious/noArrayIndexKey: a CSV's columns are its positions (names may repeat)
                <Table.Tr key={c}>
                  <Table.Td>{h}</Table.Td>
                  <Table.Td>
                    <Text size="xs">{data[0]?.[c] ?? ''}</Text>
                  </Table.Td>
                  <Table.Td>
                    <Select
                      aria-label={`${t('import.target')} ${h}`}
                      value={mapping[c]?.target}
                      allowDeselect={false}
                      onChange={(v) =>
                        setMapping((ms) =>
                          ms.map((m, k) => (k === c ? { ...m, target: (v ?? 'ignore') as Target } : m)),
                        )
                      }
                      data={[
                        { value: 'ignore', label: t('import.ignore') },
                        { value: 'userId', label: 'userId' },
                        { value: 'anonymousId', label: 'anonymousId' },
                        { value: 'trait', label: t('import.asTrait') },
                      ]}
                    />
                  </Table.Td>
                  <Table.Td>
                    {mapping[c]?.target === 'trait' && (
                      <TextInput
                        aria-label={`${t('import.trait')} ${h}`}
                        value={mapping[c].trait}
                        onChange={(e) => {
                          const v = e.currentTarget.value;
                          setMapping((ms) => ms.map((m, k) => (k === c ? { ...m, trait: v } : m)));
                        }}
                      />
                    )}
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        )}
        {data.length > 0 && (
          <Group>
            <Button onClick={run} disabled={progress !== null && progress.sent < data.length && !error}>
              {t('import.run', { rows: number(data.length) })}
            </Button>
          </Group>
        )}
        {progress && (
          <div data-testid="import-progress">
            <Progress value={(100 * progress.sent) / Math.max(1, data.length)} />
            <Text size="sm" mt={4}>
              {t('import.progress', {
                sent: number(progress.sent),
                rows: number(data.length),
                accepted: number(progress.accepted),
                quarantined: number(progress.quarantined),
              })}
            </Text>
          </div>
        )}
        {error && <Alert color="red">{error}</Alert>}
      </Stack>
    </Card>
  );
}
