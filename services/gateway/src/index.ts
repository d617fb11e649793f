// @flowmesh/gateway: the composition root and the pieces tests and the CLI use.
export { startGateway, type Gateway } from './create-gateway.js';
export { gatewayOptions, type GatewayConfig } from './gateway-options.js';
export { gatewayCommand } from './gateway-command.js';
export { ROLE_TABLE, requiredRole, roleAllows, roleName, parseRole, type AccessRule } from './access/role-table.js';
