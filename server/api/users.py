"""Users: the admin creates them with their roles, grants and removes roles, deactivates
and reactivates them; everyone reads their own profile. The rules (whose people an admin
manages, the last active admin, the audit log): server/domain/users.py."""

from __future__ import annotations

from fastapi import APIRouter, Request

from server.api.paging import PagingDep, paginate
from server.core.deps import CurrentUser, SessionDep, ViewerDep
from server.domain import users
from server.schemas.common import IdPath, Page
from server.schemas.registry import MembershipIn, UserIn, UserOut

router = APIRouter(prefix="/users", tags=["users"])


@router.post("", status_code=201)
def create_user(body: UserIn, request: Request, viewer: ViewerDep, session: SessionDep) -> UserOut:
    """Create a user with their roles (by the admin of each organisation, or of a
    cooperative the producer belongs to)."""
    user = users.create_user(
        session,
        viewer,
        request.app.state.password_hasher,
        email=body.email,
        full_name=body.full_name,
        password=body.password,
        memberships=body.memberships,
    )
    return UserOut.model_validate(user)


@router.get("/me")
def read_me(user: CurrentUser) -> UserOut:
    """The caller's profile and roles."""
    return UserOut.model_validate(user)


@router.get("")
def list_users(viewer: ViewerDep, session: SessionDep, page: PagingDep) -> Page[UserOut]:
    """People of the organisations the caller administers, and of the member producers of
    the cooperatives among them (the people the caller manages)."""
    return paginate(session, users.people(session, viewer), page, UserOut)


@router.post("/{user_id}/deactivate")
def deactivate_user(user_id: IdPath, viewer: ViewerDep, session: SessionDep) -> UserOut:
    """Take a user's access away at once: their sessions and tokens are refused from the
    next request, and they can no longer log in. Not oneself, not an organisation's last
    active admin."""
    return UserOut.model_validate(users.deactivate(session, viewer, user_id))


@router.post("/{user_id}/reactivate")
def reactivate_user(user_id: IdPath, viewer: ViewerDep, session: SessionDep) -> UserOut:
    """Give a deactivated user their access back (they log in again)."""
    return UserOut.model_validate(users.reactivate(session, viewer, user_id))


@router.post("/{user_id}/memberships", status_code=201)
def grant_role(
    user_id: IdPath, body: MembershipIn, viewer: ViewerDep, session: SessionDep
) -> UserOut:
    """Give a user one more role (same rule as when creating them)."""
    return UserOut.model_validate(users.grant_role(session, viewer, user_id, body))


@router.post("/{user_id}/memberships/revoke")
def revoke_role(
    user_id: IdPath, body: MembershipIn, viewer: ViewerDep, session: SessionDep
) -> UserOut:
    """Remove one role (same rule as granting it); its access ends with the next request.
    Not an organisation's last active admin role, nor a user's last role (a user without
    any role would be seen by no admin: deactivate them instead)."""
    return UserOut.model_validate(users.revoke_role(session, viewer, user_id, body))
