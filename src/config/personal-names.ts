// Column names that look like they hold personal data, for `sluice lint`'s pii-untagged rule. A name is compared
// in its normal form — words of camelCase and of any separator, lowercased, joined by `_` — so `customerEmail`,
// `Customer E-Mail` and `customer_email` are one name. The personal word must END the name, give or take a few
// suffixes that keep its meaning (`email_2`, `address_line_1`, `phone_raw`): a word after it usually says something
// ABOUT the value rather than being it (`email_verified`, `email_opt_in`, `phone_type`, `zip_file`), and such
// columns hold no personal data of their own. Flags (`is_mobile`, `has_email`) and network plumbing
// (`server_address`, `host_ip`) are left out for the same reason. `name` alone is not on the list (`product_name`,
// `name` of a stream, of a city): only names of people (`first_name`, `customer_name`, …) are. A warning that cries
// wolf gets switched off; one that misses a column is one line in the pipeline file away from being fixed.

/** Words, normal form: `customerE-Mail2` → `customer_e_mail2`. */
export const normalName = (s: string): string =>
  s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').split(/[^A-Za-z0-9]+/).filter(Boolean).map((w) => w.toLowerCase()).join('_');

const PEOPLE = '(customer|contact|person|patient|employee|member|client|user|account_holder|holder|owner|author|recipient|sender|billing|shipping)';
const TERMS = [
  'e_?mail(_?address)?', 'phone(_?number)?', 'mobile(_?(phone|number))?', 'cell_?phone', 'telephone(_?number)?', 'fax(_?number)?',
  '(first|last|full|given|family|middle|maiden|sur)_?name', `${PEOPLE}_name`, 'surname',
  'birth_?date', 'date_of_birth', 'dob', 'birthday',
  'ssn', 'social_security(_number)?', 'national_(id|insurance_number)', 'tax_id', 'passport(_?number)?', 'drivers?_licen[cs]e(_number)?',
  'address', 'street', 'post_?code', 'postal_code', 'zip(_?code)?',
  'ip', 'ip_?addr(ess)?', 'iban', 'card_?(number|no|num)', 'credit_?card(_number)?',
];
/** What may follow a personal word without changing what the column holds. */
const SUFFIX = '(_(\\d+|line(_?\\d+)?|raw|hash|hashed|clean|normali[sz]ed|lower|primary|secondary|home|work))*';
const PERSONAL = new RegExp(`(^|_)(${TERMS.join('|')})\\d*${SUFFIX}$`);
const NOT_PERSONAL = /^(is|has|can|should|allow|allows|needs)_|(^|_)(host|server|bind|listen|node|memory|gateway|proxy)_(ip|address|ip_address)/;

/** Whether a column's name looks like it holds personal data. */
export const looksPersonal = (column: string): boolean => {
  const n = normalName(column);
  return PERSONAL.test(n) && !NOT_PERSONAL.test(n);
};
