#!/usr/bin/env node
// Builds the example's MariaDB/MySQL source: a shop with customers, products, orders and order items (the largest
// table, `rows` of them, 1M by default), related by foreign keys. Filled server-side from MariaDB's sequence engine
// (seq_1_to_N), so a million rows take seconds.
//
//   node examples/mysql-to-postgres/generate.js [rows]        # env SHOP_DB (default sluice_shop), MYSQL_HOST/PORT/USER/PASSWORD
import mysql from 'mysql2/promise';

const rows = Number(process.argv[2] ?? 1_000_000);
const db = process.env.SHOP_DB ?? 'sluice_shop';
if (!/^[a-z_][a-z0-9_]*$/.test(db)) throw new Error(`SHOP_DB must be a plain identifier, got ${db}`);
const orders = Math.max(1, Math.floor(rows / 4));
const customers = Math.max(1, Math.floor(rows / 20));
const products = Math.max(1, Math.min(5000, Math.floor(rows / 10)));

const conn = await mysql.createConnection({
  host: process.env.MYSQL_HOST ?? '127.0.0.1', port: Number(process.env.MYSQL_PORT ?? 3306),
  user: process.env.MYSQL_USER ?? 'root', password: process.env.MYSQL_PASSWORD ?? '', multipleStatements: true,
});
const t0 = Date.now();
await conn.query(`DROP DATABASE IF EXISTS ${db}; CREATE DATABASE ${db} CHARACTER SET utf8mb4; USE ${db};
CREATE TABLE customers (
  id INT PRIMARY KEY, email VARCHAR(120) NOT NULL UNIQUE, name VARCHAR(100) NOT NULL, country CHAR(2) NOT NULL,
  created_at DATETIME(3) NOT NULL, updated_at DATETIME(3) NOT NULL, KEY (updated_at)
) ENGINE=InnoDB;
CREATE TABLE products (
  id INT PRIMARY KEY, sku VARCHAR(20) NOT NULL UNIQUE, name VARCHAR(100) NOT NULL, price DECIMAL(10,2) NOT NULL,
  attrs JSON, updated_at DATETIME(3) NOT NULL, KEY (updated_at)
) ENGINE=InnoDB;
CREATE TABLE orders (
  id INT PRIMARY KEY, customer_id INT NOT NULL, status VARCHAR(12) NOT NULL, total DECIMAL(12,2) NOT NULL,
  ordered_at DATETIME(3) NOT NULL, updated_at DATETIME(3) NOT NULL, KEY (updated_at),
  FOREIGN KEY (customer_id) REFERENCES customers (id)
) ENGINE=InnoDB;
CREATE TABLE order_items (
  id BIGINT PRIMARY KEY, order_id INT NOT NULL, product_id INT NOT NULL, quantity SMALLINT NOT NULL,
  unit_price DECIMAL(10,2) NOT NULL,
  FOREIGN KEY (order_id) REFERENCES orders (id), FOREIGN KEY (product_id) REFERENCES products (id)
) ENGINE=InnoDB;
SET foreign_key_checks = 0;
INSERT INTO customers SELECT seq, CONCAT('customer', seq, '@example.com'), CONCAT('Customer ', seq),
  ELT(1 + seq % 5, 'CA', 'US', 'FR', 'DE', 'JP'), TIMESTAMP('2023-01-01') + INTERVAL seq MINUTE,
  TIMESTAMP('2024-01-01') + INTERVAL seq SECOND FROM seq_1_to_${customers};
INSERT INTO products SELECT seq, CONCAT('SKU-', LPAD(seq, 6, '0')), CONCAT('Product ', seq), 1 + (seq % 500) + 0.99,
  JSON_OBJECT('color', ELT(1 + seq % 3, 'red', 'green', 'blue'), 'weight_g', seq % 2000),
  TIMESTAMP('2024-01-01') + INTERVAL seq SECOND FROM seq_1_to_${products};
INSERT INTO orders SELECT seq, 1 + seq % ${customers}, ELT(1 + seq % 4, 'new', 'paid', 'shipped', 'delivered'),
  (seq % 1000) + 0.5, TIMESTAMP('2024-01-01') + INTERVAL seq SECOND, TIMESTAMP('2024-01-01') + INTERVAL seq SECOND
  FROM seq_1_to_${orders};
INSERT INTO order_items SELECT seq, 1 + (seq - 1) % ${orders}, 1 + seq % ${products}, 1 + seq % 5, 1 + (seq % 500) + 0.99
  FROM seq_1_to_${rows};
SET foreign_key_checks = 1;`);
await conn.end();
console.log(`${db}: ${customers} customers, ${products} products, ${orders} orders, ${rows} order items (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
