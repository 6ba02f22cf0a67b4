import type { DemoRandom } from './demo-random.js';

/** A product of the demo shop. Prices are in euros. */
export interface DemoProduct {
  sku: string;
  name: string;
  price: number;
  category: string;
}

/** One line of an order, as Segment's e-commerce spec lists it. */
export interface DemoOrderLine {
  sku: string;
  name: string;
  price: number;
  quantity: number;
}

/** Rounds an amount to cents. */
export function cents(amount: number): number {
  return Math.round(amount * 100) / 100;
}

/** The shop's catalogue: `size` products with unique SKUs. */
export function createCatalog(rnd: DemoRandom, size = 40): DemoProduct[] {
  const products: DemoProduct[] = [];
  const skus = new Set<string>();
  while (products.length < size) {
    const sku = `SKU-${rnd.faker.string.numeric(5)}`;
    if (skus.has(sku)) continue;
    skus.add(sku);
    products.push({
      sku,
      name: rnd.faker.commerce.productName(),
      price: cents(rnd.faker.number.float({ min: 3, max: 120, fractionDigits: 2 })),
      category: rnd.faker.commerce.department(),
    });
  }
  return products;
}

/** A basket of one to three distinct products and its total. */
export function createOrder(
  rnd: DemoRandom,
  catalog: readonly DemoProduct[],
): { lines: DemoOrderLine[]; total: number } {
  const chosen = rnd.faker.helpers.arrayElements(catalog, rnd.int(1, 3));
  const lines = chosen.map((p) => ({
    sku: p.sku,
    name: p.name,
    price: p.price,
    quantity: rnd.chance(0.75) ? 1 : rnd.int(2, 3),
  }));
  return { lines, total: cents(lines.reduce((sum, l) => sum + l.price * l.quantity, 0)) };
}
