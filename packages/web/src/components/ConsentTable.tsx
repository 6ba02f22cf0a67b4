import { Table } from '@mantine/core';
import type { Json } from '../api';
import { useI18n } from '../i18n';

/** Current consents per purpose, granted and denied (`consents` of `GET /v1/stats/overview`). */
export function ConsentTable({ consents }: { consents: Json[] }) {
  const { t, number } = useI18n();
  return (
    <Table>
      <Table.Tbody>
        {consents.map((c) => (
          <Table.Tr key={c.purpose}>
            <Table.Td>{c.purpose}</Table.Td>
            <Table.Td c="green">{t('overview.grantedCount', { count: number(c.granted) })}</Table.Td>
            <Table.Td c="red">{t('overview.deniedCount', { count: number(c.denied) })}</Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}
