import { Alert, Button, Card, Code, Group, JsonInput, Select, Stack, Table, Text, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { api, get, type Json } from '../api';
import { can, type Me } from '../auth';
import { useI18n } from '../i18n';

/** Each versioned setting: where it lives, which part of the answer is edited, who may change it. */
const SETTINGS: {
  key: string;
  path: string;
  permission: string;
  edit: (body: Json) => unknown;
  body: (value: Json) => unknown;
  by?: (body: Json) => string | null;
}[] = [
  {
    key: 'survivorship',
    path: '/v1/settings/survivorship',
    permission: 'settings.write',
    edit: (b) => b.settings,
    body: (v) => v,
    by: (b) => b.createdBy,
  },
  {
    key: 'identity-matching',
    path: '/v1/settings/identity-matching',
    permission: 'settings.write',
    edit: (b) => b.config,
    body: (v) => v,
    by: (b) => b.createdBy,
  },
  {
    key: 'consent-purposes',
    path: '/v1/settings/consent-purposes',
    permission: 'privacy.settings',
    edit: (b) => ({ purposes: b.purposes }),
    body: (v) => v,
  },
  {
    key: 'pii-classes',
    path: '/v1/settings/pii-classes',
    permission: 'privacy.settings',
    edit: (b) => ({ fields: b.fields }),
    body: (v) => v,
  },
  {
    key: 'retention',
    path: '/v1/settings/retention',
    permission: 'privacy.settings',
    edit: (b) => ({ rules: b.rules }),
    body: (v) => v,
  },
  {
    key: 'pressure',
    path: '/v1/settings/pressure',
    permission: 'destinations.write',
    edit: (b) => b.policy,
    body: (v) => v,
    by: (b) => b.updatedBy,
  },
  {
    key: 'rfm',
    path: '/v1/settings/rfm',
    permission: 'audiences.write',
    edit: (b) => b.settings,
    body: (v) => v,
  },
];

/** Business settings (issue 8): each versioned, edited as JSON checked by the API, with who changed what. */
export function Settings({ me }: { me: Me }) {
  const { t, dateTime } = useI18n();
  const client = useQueryClient();
  const [key, setKey] = useState(SETTINGS[0].key);
  const setting = SETTINGS.find((s) => s.key === key) ?? SETTINGS[0];
  const current = useQuery<Json>({ queryKey: ['setting', key], queryFn: () => get(setting.path) });
  const [text, setText] = useState('');
  useEffect(() => {
    if (current.data) setText(JSON.stringify(setting.edit(current.data) ?? {}, null, 2));
  }, [current.data, setting]);
  const history = useQuery<Json>({
    queryKey: ['setting-audit', key],
    queryFn: () => get(`/v1/audit-log?limit=20&action=${encodeURIComponent(`PUT ${setting.path}`)}`),
    enabled: can(me, 'audit.read'),
  });
  const save = useMutation({
    mutationFn: () => api('PUT', setting.path, setting.body(JSON.parse(text))),
    onSuccess: async () => {
      await client.invalidateQueries({ queryKey: ['setting', key] });
      await client.invalidateQueries({ queryKey: ['setting-audit', key] });
    },
  });
  const editable = can(me, setting.permission);
  return (
    <Stack>
      <Title order={2}>{t('settings.title')}</Title>
      <Select
        label={t('settings.which')}
        value={key}
        allowDeselect={false}
        onChange={(v) => v && setKey(v)}
        data={SETTINGS.map((s) => ({ value: s.key, label: t(`settings.${s.key}` as 'settings.rfm') }))}
        w={320}
      />
      <Card withBorder>
        <Group justify="space-between" mb="sm">
          <Text>
            {t('settings.version', { version: current.data?.version ?? 0 })}
            {setting.by?.(current.data ?? {}) ? ` · ${setting.by(current.data)}` : ''}
          </Text>
          {!editable && <Text c="dimmed">{t('settings.readOnly')}</Text>}
        </Group>
        <JsonInput
          aria-label={t('settings.value')}
          value={text}
          onChange={setText}
          autosize
          minRows={8}
          maxRows={30}
          validationError={t('settings.invalidJson')}
          readOnly={!editable}
          formatOnBlur
        />
        {save.isError && (
          <Alert color="red" mt="sm">
            {save.error.message}
          </Alert>
        )}
        {save.isSuccess && (
          <Alert color="green" mt="sm">
            {t('settings.saved')}
          </Alert>
        )}
        {editable && (
          <Group mt="sm">
            <Button onClick={() => save.mutate()} loading={save.isPending}>
              {t('settings.save')}
            </Button>
          </Group>
        )}
      </Card>
      {history.data && (
        <Card withBorder>
          <Title order={5} mb="xs">
            {t('settings.changes')}
          </Title>
          <Table>
            <Table.Tbody>
              {(history.data.items ?? []).map((e: Json) => (
                <Table.Tr key={e.id}>
                  <Table.Td>{dateTime(e.at)}</Table.Td>
                  <Table.Td>
                    <Code>{e.actor}</Code>
                  </Table.Td>
                  <Table.Td>{e.status}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Card>
      )}
    </Stack>
  );
}
