"""The feature flags a fake server reports, as the recorded servers did."""

from __future__ import annotations

import copy
from typing import Any

# What 1.9.1 and 1.11.1 answered on GET /console/api/system-features.
_SYSTEM_FEATURES: dict[str, Any] = {
    "sso_enforced_for_signin": False,
    "sso_enforced_for_signin_protocol": "",
    "enable_marketplace": False,
    "max_plugin_package_size": 15728640,
    "enable_email_code_login": False,
    "enable_email_password_login": True,
    "enable_social_oauth_login": False,
    "is_allow_register": False,
    "is_allow_create_workspace": False,
    "is_email_setup": False,
    "license": {
        "status": "none",
        "expired_at": "",
        "workspaces": {"enabled": False, "size": 0, "limit": 0},
    },
    "branding": {
        "enabled": False,
        "application_title": "",
        "login_page_logo": "",
        "workspace_logo": "",
        "favicon": "",
    },
    "webapp_auth": {
        "enabled": False,
        "allow_sso": False,
        "sso_config": {"protocol": ""},
        "allow_email_code_login": False,
        "allow_email_password_login": False,
    },
    "plugin_installation_permission": {
        "plugin_installation_scope": "all",
        "restrict_to_marketplace_only": False,
    },
    "enable_change_email": True,
    "plugin_manager": {"enabled": False},
}

# What 1.16.0-rc1 added, in its order.
_MODERN_FIRST = {"enable_app_deploy": False}
_MODERN_AFTER_SOCIAL = {"enable_collaboration_mode": True}
_MODERN_LAST = {
    "enable_creators_platform": False,
    "enable_trial_app": False,
    "enable_explore_banner": False,
    "enable_learn_app": True,
    "rbac_enabled": False,
}

# Cloud's real flags are runtime configuration nobody recorded; these are
# what its sign-in page needs: email code, social login, open registration.
_CLOUD = {
    "enable_email_code_login": True,
    "enable_social_oauth_login": True,
    "is_allow_register": True,
    "is_allow_create_workspace": True,
    "is_email_setup": True,
}


def system_features(modern: bool, cloud: bool) -> dict[str, Any]:
    """A fresh, mutable copy of the flags for one server."""
    features: dict[str, Any] = {}
    if modern:
        features |= _MODERN_FIRST
    for key, value in _SYSTEM_FEATURES.items():
        features[key] = copy.deepcopy(value)
        if modern and key == "enable_social_oauth_login":
            features |= _MODERN_AFTER_SOCIAL
    if modern:
        features["license"]["seats"] = {"enabled": False, "size": 0, "limit": 0}
        features |= _MODERN_LAST
    if cloud:
        features |= _CLOUD
    return features


# What 1.16.0-rc1 answered on GET /console/api/features for a fresh workspace.
WORKSPACE_FEATURES: dict[str, Any] = {
    "billing": {"enabled": False, "subscription": {"plan": "sandbox", "interval": ""}},
    "education": {"enabled": False, "activated": False},
    "members": {"size": 0, "limit": 1},
    "apps": {"size": 0, "limit": 10},
    "knowledge_rate_limit": 10,
    "annotation_quota_limit": {"size": 0, "limit": 10},
    "documents_upload_quota": {"size": 0, "limit": 50},
    "docs_processing": "standard",
    "can_replace_logo": False,
    "model_load_balancing_enabled": False,
    "dataset_operator_enabled": False,
    "webapp_copyright_enabled": False,
    "workspace_members": {"enabled": False, "size": 0, "limit": 0},
    "is_allow_transfer_workspace": True,
    "trigger_event": {"usage": 0, "limit": 3000, "reset_date": 0},
    "api_rate_limit": {"usage": 0, "limit": 5000, "reset_date": 0},
    "human_input_email_delivery_enabled": True,
    "knowledge_pipeline": {"publish_enabled": False},
    "next_credit_reset_date": 0,
}
